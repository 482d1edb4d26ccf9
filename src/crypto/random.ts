/** The system CSPRNG as a RandomSource. */
import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../clock.js';

export const cryptoRandom: RandomSource = {
  fill(buf: Uint8Array): Uint8Array {
    return randomFillSync(buf);
  },
};
