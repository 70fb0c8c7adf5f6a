import { inProcessCorpus } from '../../kit/hostile/suite.js';

// The other half of the hostile corpus's rows, in-process (see corpus.test.ts).
inProcessCorpus(1, 2);
