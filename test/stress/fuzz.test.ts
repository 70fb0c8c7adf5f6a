/*
 * The fuzz targets of test/unit/fuzz with a longer budget: `npm test` runs each target briefly (a few seconds
 * for all of them); this tier, which CI runs, runs them with FUZZ_SCALE=10 (set for the tier in
 * vitest.config.ts): ten times as many inputs each. `npm run fuzz` runs each for five minutes.
 */
import '../unit/fuzz/args.test.js';
import '../unit/fuzz/extract.test.js';
import '../unit/fuzz/image.test.js';
import '../unit/fuzz/policy.test.js';
import '../unit/fuzz/resolver.test.js';
import '../unit/fuzz/tar-reader.test.js';
