#!/bin/sh
cat /usr/local/share/hello/greeting.txt
