// vitest setup file: a test that makes no assertion fails ("expected any number of assertions,
// but got none"), so that no test can pass without checking something.
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
