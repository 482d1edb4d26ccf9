/**
 * ChaCha20-Poly1305 (RFC 8439) in plain JS without per-call allocation beyond the result, for
 * the handshake's short fields (aead.ts routes sealed lengths ≤ JS_AEAD_MAX here on the 'node'
 * backend): node:crypto spends ~4–6 µs per call setting up a Cipher object, this ~1 µs for a
 * 32-byte field. Poly1305 uses 13-bit limbs as in poly1305-donna-16, so every intermediate
 * stays far below 2^53 in plain JS numbers.
 */

const ks = new Uint8Array(64); // one keystream block
const pb = new Uint8Array(16); // a zero-padded partial Poly1305 block
const polyR = new Int32Array(10);
const polyH = new Int32Array(10);
const polyS = new Int32Array(8); // s as 16-bit words

const le32 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
const le16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);

/** The ChaCha20 block function: 64 keystream bytes for (key, 32-bit counter, 12-byte nonce) into out[0, 64). */
// prettier-ignore
export function chacha20Block(key: Uint8Array, counter: number, nonce: Uint8Array, out: Uint8Array): void {
  const j4 = le32(key, 0), j5 = le32(key, 4), j6 = le32(key, 8), j7 = le32(key, 12);
  const j8 = le32(key, 16), j9 = le32(key, 20), j10 = le32(key, 24), j11 = le32(key, 28);
  const j12 = counter | 0, j13 = le32(nonce, 0), j14 = le32(nonce, 4), j15 = le32(nonce, 8);
  let x0 = 0x61707865, x1 = 0x3320646e, x2 = 0x79622d32, x3 = 0x6b206574;
  let x4 = j4, x5 = j5, x6 = j6, x7 = j7, x8 = j8, x9 = j9, x10 = j10, x11 = j11;
  let x12 = j12, x13 = j13, x14 = j14, x15 = j15;
  for (let i = 0; i < 10; i++) {
    // Column round, then diagonal round; each quarter round is two lines.
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16); x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24); x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16); x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24); x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16); x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24); x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16); x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24); x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16); x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24); x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16); x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24); x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16); x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24); x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16); x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24); x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  put32(out, 0, x0 + 0x61707865); put32(out, 4, x1 + 0x3320646e); put32(out, 8, x2 + 0x79622d32); put32(out, 12, x3 + 0x6b206574);
  put32(out, 16, x4 + j4); put32(out, 20, x5 + j5); put32(out, 24, x6 + j6); put32(out, 28, x7 + j7);
  put32(out, 32, x8 + j8); put32(out, 36, x9 + j9); put32(out, 40, x10 + j10); put32(out, 44, x11 + j11);
  put32(out, 48, x12 + j12); put32(out, 52, x13 + j13); put32(out, 56, x14 + j14); put32(out, 60, x15 + j15);
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** dst[dOff, +len) = src[sOff, +len) XOR ChaCha20 keystream from block counter 1. */
function xorStream(key: Uint8Array, nonce: Uint8Array, src: Uint8Array, sOff: number, dst: Uint8Array, dOff: number, len: number): void {
  for (let done = 0, counter = 1; done < len; counter++) {
    chacha20Block(key, counter, nonce, ks);
    const n = Math.min(64, len - done);
    for (let i = 0; i < n; i++) dst[dOff + done + i] = src[sOff + done + i] ^ ks[i];
    done += n;
  }
  ks.fill(0);
}

// ---- Poly1305 ----

/** Sets r (clamped) and s from the 32-byte one-time key k[0, 32); h = 0. */
function polyInit(k: Uint8Array): void {
  const t0 = le16(k, 0), t1 = le16(k, 2), t2 = le16(k, 4), t3 = le16(k, 6);
  const t4 = le16(k, 8), t5 = le16(k, 10), t6 = le16(k, 12), t7 = le16(k, 14);
  const r = polyR;
  // Clamping (RFC 8439 §2.5.1) folded into the limb masks.
  r[0] = t0 & 0x1fff;
  r[1] = ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
  r[2] = ((t1 >>> 10) | (t2 << 6)) & 0x1f03;
  r[3] = ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
  r[4] = ((t3 >>> 4) | (t4 << 12)) & 0x00ff;
  r[5] = (t4 >>> 1) & 0x1ffe;
  r[6] = ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
  r[7] = ((t5 >>> 11) | (t6 << 5)) & 0x1f81;
  r[8] = ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
  r[9] = (t7 >>> 5) & 0x007f;
  for (let i = 0; i < 8; i++) polyS[i] = le16(k, 16 + 2 * i);
  polyH.fill(0);
}

/** h = (h + block·2^(8·16 if hibit)) · r mod 2^130 − 5 for the 16 bytes at m[o..]. */
// prettier-ignore
function polyBlock(m: Uint8Array, o: number, hibit: number): void {
  const h = polyH, r = polyR;
  const r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7], r8 = r[8], r9 = r[9];
  const t0 = le16(m, o), t1 = le16(m, o + 2), t2 = le16(m, o + 4), t3 = le16(m, o + 6);
  const t4 = le16(m, o + 8), t5 = le16(m, o + 10), t6 = le16(m, o + 12), t7 = le16(m, o + 14);
  const h0 = h[0] + (t0 & 0x1fff);
  const h1 = h[1] + (((t0 >>> 13) | (t1 << 3)) & 0x1fff);
  const h2 = h[2] + (((t1 >>> 10) | (t2 << 6)) & 0x1fff);
  const h3 = h[3] + (((t2 >>> 7) | (t3 << 9)) & 0x1fff);
  const h4 = h[4] + (((t3 >>> 4) | (t4 << 12)) & 0x1fff);
  const h5 = h[5] + ((t4 >>> 1) & 0x1fff);
  const h6 = h[6] + (((t4 >>> 14) | (t5 << 2)) & 0x1fff);
  const h7 = h[7] + (((t5 >>> 11) | (t6 << 5)) & 0x1fff);
  const h8 = h[8] + (((t6 >>> 8) | (t7 << 8)) & 0x1fff);
  const h9 = h[9] + ((t7 >>> 5) | hibit);
  // 2^130 ≡ 5: limb products that wrap past limb 9 come back multiplied by 5.
  const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5, s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;
  let c = 0;
  let d0 = h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6;
  c = d0 >>> 13; d0 &= 0x1fff;
  d0 += h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
  c += d0 >>> 13; d0 &= 0x1fff;
  let d1 = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7;
  c = d1 >>> 13; d1 &= 0x1fff;
  d1 += h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
  c += d1 >>> 13; d1 &= 0x1fff;
  let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8;
  c = d2 >>> 13; d2 &= 0x1fff;
  d2 += h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
  c += d2 >>> 13; d2 &= 0x1fff;
  let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9;
  c = d3 >>> 13; d3 &= 0x1fff;
  d3 += h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
  c += d3 >>> 13; d3 &= 0x1fff;
  let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
  c = d4 >>> 13; d4 &= 0x1fff;
  d4 += h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
  c += d4 >>> 13; d4 &= 0x1fff;
  let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
  c = d5 >>> 13; d5 &= 0x1fff;
  d5 += h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
  c += d5 >>> 13; d5 &= 0x1fff;
  let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
  c = d6 >>> 13; d6 &= 0x1fff;
  d6 += h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
  c += d6 >>> 13; d6 &= 0x1fff;
  let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
  c = d7 >>> 13; d7 &= 0x1fff;
  d7 += h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
  c += d7 >>> 13; d7 &= 0x1fff;
  let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
  c = d8 >>> 13; d8 &= 0x1fff;
  d8 += h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
  c += d8 >>> 13; d8 &= 0x1fff;
  let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
  c = d9 >>> 13; d9 &= 0x1fff;
  d9 += h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
  c += d9 >>> 13; d9 &= 0x1fff;
  c = ((c << 2) + c) | 0;
  c = (c + d0) | 0;
  d0 = c & 0x1fff;
  c >>>= 13;
  d1 += c;
  h[0] = d0; h[1] = d1; h[2] = d2; h[3] = d3; h[4] = d4; h[5] = d5; h[6] = d6; h[7] = d7; h[8] = d8; h[9] = d9;
}

/** AEAD MAC input: m[o, o+len) as full 16-byte blocks, the last one zero-padded (RFC 8439 §2.8). */
function polyPadded(m: Uint8Array, o: number, len: number): void {
  const full = len & ~15;
  for (let i = 0; i < full; i += 16) polyBlock(m, o + i, 1 << 11);
  if (full < len) {
    pb.fill(0);
    for (let i = full; i < len; i++) pb[i - full] = m[o + i];
    polyBlock(pb, 0, 1 << 11);
  }
}

/** Final reduction mod 2^130 − 5 and + s; writes the 16-byte tag to out[o..]. */
// prettier-ignore
function polyFinish(out: Uint8Array, o: number): void {
  const h = polyH;
  let c = h[1] >>> 13;
  h[1] &= 0x1fff;
  for (let i = 2; i < 10; i++) { h[i] += c; c = h[i] >>> 13; h[i] &= 0x1fff; }
  h[0] += c * 5; c = h[0] >>> 13; h[0] &= 0x1fff;
  h[1] += c; c = h[1] >>> 13; h[1] &= 0x1fff;
  h[2] += c;
  // g = h + 5 − 2^130; keep g when it did not borrow (h ≥ p), else h. Branch-free.
  let g0 = h[0] + 5; c = g0 >>> 13; g0 &= 0x1fff;
  let g1 = h[1] + c; c = g1 >>> 13; g1 &= 0x1fff;
  let g2 = h[2] + c; c = g2 >>> 13; g2 &= 0x1fff;
  let g3 = h[3] + c; c = g3 >>> 13; g3 &= 0x1fff;
  let g4 = h[4] + c; c = g4 >>> 13; g4 &= 0x1fff;
  let g5 = h[5] + c; c = g5 >>> 13; g5 &= 0x1fff;
  let g6 = h[6] + c; c = g6 >>> 13; g6 &= 0x1fff;
  let g7 = h[7] + c; c = g7 >>> 13; g7 &= 0x1fff;
  let g8 = h[8] + c; c = g8 >>> 13; g8 &= 0x1fff;
  let g9 = (h[9] + c - (1 << 13)) | 0;
  const useH = g9 >> 31; // all ones when g borrowed (h < p), else 0
  const useG = ~useH;
  g9 &= 0x1fff;
  const f0 = (h[0] & useH) | (g0 & useG), f1 = (h[1] & useH) | (g1 & useG), f2 = (h[2] & useH) | (g2 & useG);
  const f3 = (h[3] & useH) | (g3 & useG), f4 = (h[4] & useH) | (g4 & useG), f5 = (h[5] & useH) | (g5 & useG);
  const f6 = (h[6] & useH) | (g6 & useG), f7 = (h[7] & useH) | (g7 & useG), f8 = (h[8] & useH) | (g8 & useG);
  const f9 = (h[9] & useH) | (g9 & useG);
  // Repack 13-bit limbs into 16-bit words and add s (mod 2^128).
  const w0 = (f0 | (f1 << 13)) & 0xffff;
  const w1 = ((f1 >>> 3) | (f2 << 10)) & 0xffff;
  const w2 = ((f2 >>> 6) | (f3 << 7)) & 0xffff;
  const w3 = ((f3 >>> 9) | (f4 << 4)) & 0xffff;
  const w4 = ((f4 >>> 12) | (f5 << 1) | (f6 << 14)) & 0xffff;
  const w5 = ((f6 >>> 2) | (f7 << 11)) & 0xffff;
  const w6 = ((f7 >>> 5) | (f8 << 8)) & 0xffff;
  const w7 = ((f8 >>> 8) | (f9 << 5)) & 0xffff;
  const s = polyS;
  let f = w0 + s[0]; out[o] = f; out[o + 1] = f >>> 8;
  f = w1 + s[1] + (f >>> 16); out[o + 2] = f; out[o + 3] = f >>> 8;
  f = w2 + s[2] + (f >>> 16); out[o + 4] = f; out[o + 5] = f >>> 8;
  f = w3 + s[3] + (f >>> 16); out[o + 6] = f; out[o + 7] = f >>> 8;
  f = w4 + s[4] + (f >>> 16); out[o + 8] = f; out[o + 9] = f >>> 8;
  f = w5 + s[5] + (f >>> 16); out[o + 10] = f; out[o + 11] = f >>> 8;
  f = w6 + s[6] + (f >>> 16); out[o + 12] = f; out[o + 13] = f >>> 8;
  f = w7 + s[7] + (f >>> 16); out[o + 14] = f; out[o + 15] = f >>> 8;
  polyH.fill(0);
  polyR.fill(0);
  polyS.fill(0);
}

/** One-shot Poly1305 (RFC 8439 §2.5) of msg under a 32-byte one-time key (vectors, tests). */
export function poly1305(msg: Uint8Array, key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError('Poly1305 key must be 32 bytes');
  polyInit(key);
  const full = msg.length & ~15;
  for (let i = 0; i < full; i += 16) polyBlock(msg, i, 1 << 11);
  if (full < msg.length) {
    // Final partial block: the message bytes, then 0x01, then zeros; no 2^128 bit.
    pb.fill(0);
    for (let i = full; i < msg.length; i++) pb[i - full] = msg[i];
    pb[msg.length - full] = 1;
    polyBlock(pb, 0, 0);
  }
  const tag = new Uint8Array(16);
  polyFinish(tag, 0);
  return tag;
}

/** Tag over aad and ct[ctOff, +ctLen) with the one-time key from block 0, into out[o..]. */
function aeadTag(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array, ctOff: number, ctLen: number, out: Uint8Array, o: number): void {
  chacha20Block(key, 0, nonce, ks);
  polyInit(ks);
  ks.fill(0);
  polyPadded(aad, 0, aad.length);
  polyPadded(ct, ctOff, ctLen);
  pb.fill(0);
  put32(pb, 0, aad.length);
  put32(pb, 4, Math.floor(aad.length / 0x100000000));
  put32(pb, 8, ctLen);
  put32(pb, 12, Math.floor(ctLen / 0x100000000));
  polyBlock(pb, 0, 1 << 11);
  polyFinish(out, o);
}

/** Seal with a raw 12-byte nonce: ciphertext ‖ 16-byte tag. Key and nonce lengths are the caller's to check. */
export function jsChachaPolySeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const n = plaintext.length;
  const out = new Uint8Array(n + 16);
  xorStream(key, nonce, plaintext, 0, out, 0, n);
  aeadTag(key, nonce, aad, out, 0, n, out, n);
  return out;
}

const tag = new Uint8Array(16);

/** Open with a raw 12-byte nonce; null when `sealed` is shorter than a tag or the tag is wrong. */
export function jsChachaPolyOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < 16) return null;
  const n = sealed.length - 16;
  aeadTag(key, nonce, aad, sealed, 0, n, tag, 0);
  let d = 0;
  for (let i = 0; i < 16; i++) d |= tag[i] ^ sealed[n + i];
  tag.fill(0);
  if (d !== 0) return null;
  const out = new Uint8Array(n);
  xorStream(key, nonce, sealed, 0, out, 0, n);
  return out;
}
