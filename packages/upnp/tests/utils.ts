import { expect } from '@jest/globals';
import * as errors from '../src/errors.js';

/** Runs `f`: it returns, or throws `ErrorUPnPResponseInvalid` (never anything else). */
function decodedOrInvalid<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(errors.ErrorUPnPResponseInvalid);
    return undefined;
  }
}

export { decodedOrInvalid };
