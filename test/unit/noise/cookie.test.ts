import { describe, expect, it } from 'vitest';
import { COOKIE_REFRESH_TIME, COOKIE_VALIDITY, MESSAGE_RESPONSE_SIZE } from '../../../src/constants.js';
import { Endpoint } from '../../../src/io/endpoint.js';
import {
  CookieChecker,
  CookieGenerator,
  INIT_MAC1,
  INIT_MAC2,
  RESP_MAC2,
  createInitiation,
  createLocalIdentity,
  createRemoteIdentity,
  readU32LE,
  tai64n,
} from '../../../src/noise/index.js';
import { ScriptedRandom, bytes, hex, loadVector, type TranscriptVector } from './helpers.js';

const I = loadVector<TranscriptVector>('wireguard_handshake_transcript.json').inputs;
const localI = createLocalIdentity(bytes(I.initiator_static_private));
const localR = createLocalIdentity(bytes(I.responder_static_private));
const remoteR = createRemoteIdentity(localI, localR.publicKey);
const SRC = Endpoint.fromAddress('127.0.0.1', 52000);

function initiation(seconds: bigint, senderIndex = 0x11223344): Uint8Array {
  return createInitiation(localI, remoteR, {
    senderIndex,
    ephemeralPrivate: bytes(I.initiator_ephemeral_private),
    timestamp: tai64n(seconds * 1_000_000_000n),
  })!.message;
}

const zeros16 = '00'.repeat(16);

describe('mac1', () => {
  it('is checked against our own public key only', () => {
    const m = initiation(1n);
    new CookieGenerator(remoteR).stamp(m, 148, 0);
    expect(new CookieChecker(localR, new ScriptedRandom()).checkMac1(m, 148)).toBe(true);
    expect(new CookieChecker(localI, new ScriptedRandom()).checkMac1(m, 148)).toBe(false);
    const none = new CookieChecker(null, new ScriptedRandom());
    expect(none.checkMac1(m, 148)).toBe(false);
    none.setLocal(localR);
    expect(none.checkMac1(m, 148)).toBe(true);
    expect(none.checkMac1(m, 147)).toBe(false);
    expect(none.checkMac1(m, 149)).toBe(false);
  });

  it('stamps mac2 as zeros without a cookie', () => {
    const m = initiation(1n);
    m.fill(0xaa, INIT_MAC1);
    new CookieGenerator(remoteR).stamp(m, 148, 0);
    expect(hex(m.subarray(INIT_MAC2))).toBe(zeros16);
    expect(hex(m.subarray(INIT_MAC1, INIT_MAC2))).not.toBe(zeros16);
  });
});

describe('cookie replies', () => {
  function setup(random = new ScriptedRandom()) {
    const checker = new CookieChecker(localR, random);
    const gen = new CookieGenerator(remoteR);
    return { checker, gen, random };
  }

  it('are addressed to the message sender with random nonces and decrypt only with the right mac1', () => {
    const { checker, gen } = setup();
    const a = initiation(1n);
    const b = initiation(2n);
    gen.stamp(b, 148, 0);
    gen.stamp(a, 148, 0); // last mac1 sent = a's
    const forB = checker.createReply(b, 148, 0x01020304, SRC.record, 0, 0)!;
    expect(readU32LE(forB, 4)).toBe(0x01020304);
    expect(gen.consumeReply(forB, 0)).toBe(false); // AAD = b's mac1, not the last one sent
    const forA1 = checker.createReply(a, 148, 1, SRC.record, 0, 0)!;
    const forA2 = checker.createReply(a, 148, 1, SRC.record, 0, 0)!;
    expect(hex(forA1.subarray(8, 32))).not.toBe(hex(forA2.subarray(8, 32))); // fresh nonce each time
    const tampered = forA1.slice();
    tampered[40] ^= 1;
    expect(gen.consumeReply(tampered, 0)).toBe(false);
    expect(gen.consumeReply(forA1.subarray(0, 63), 0)).toBe(false);
    expect(gen.consumeReply(forA1, 0)).toBe(true);
    expect(gen.consumeReply(forA2, 0)).toBe(false); // one cookie per sent message
  });

  it('are refused before anything was sent and when sealed by another responder', () => {
    const { checker, gen } = setup();
    const m = initiation(1n);
    expect(gen.consumeReply(checker.createReply(m, 148, 1, SRC.record, 0, 0)!, 0)).toBe(false);
    gen.stamp(m, 148, 0);
    const impostor = new CookieChecker(localI, new ScriptedRandom());
    expect(gen.consumeReply(impostor.createReply(m, 148, 1, SRC.record, 0, 0)!, 0)).toBe(false);
    expect(new CookieChecker(null, new ScriptedRandom()).createReply(m, 148, 1, SRC.record, 0, 0)).toBeNull();
  });

  it('mac2 verifies for the source the cookie was issued to and nowhere else', () => {
    const { checker, gen } = setup();
    const m = initiation(1n);
    gen.stamp(m, 148, 0);
    expect(gen.consumeReply(checker.createReply(m, 148, 1, SRC.record, 0, 0)!, 0)).toBe(true);
    const next = initiation(2n);
    gen.stamp(next, 148, 10);
    expect(hex(next.subarray(INIT_MAC2))).not.toBe(zeros16);
    // Endpoint record embedded at an offset in a larger buffer, as in a batch.
    const batch = new Uint8Array(200);
    batch.set(SRC.record, 96);
    expect(checker.checkMac2(next, 148, batch, 96, 10)).toBe(true);
    for (const other of [
      Endpoint.fromAddress('127.0.0.1', 52001),
      Endpoint.fromAddress('127.0.0.2', 52000),
      Endpoint.fromAddress('::ffff:127.0.0.1', 52000),
      Endpoint.fromAddress('::1', 52000),
    ]) {
      expect(checker.checkMac2(next, 148, other.record, 0, 10), other.toString()).toBe(false);
    }
    // Every bit of the message is covered by mac2.
    for (let bit = 0; bit < 148 * 8; bit++) {
      const f = next.slice();
      f[bit >> 3] ^= 1 << (bit & 7);
      expect(checker.checkMac2(f, 148, SRC.record, 0, 10)).toBe(false);
    }
  });

  it('works for IPv6 sources and for responses (92 B)', () => {
    const { checker } = setup();
    const v6 = Endpoint.fromAddress('fe80::1', 51820, 3);
    const v6b = Endpoint.fromAddress('fe80::2', 51820, 3);
    const remoteI = createRemoteIdentity(localR, localI.publicKey);
    const gen = new CookieGenerator(remoteI); // responder stamping its response towards I
    const checkerI = new CookieChecker(localI, new ScriptedRandom());
    const resp = new Uint8Array(MESSAGE_RESPONSE_SIZE);
    resp[0] = 2;
    gen.stamp(resp, 92, 0);
    expect(checkerI.checkMac1(resp, 92)).toBe(true);
    expect(gen.consumeReply(checkerI.createReply(resp, 92, 5, v6.record, 0, 0)!, 0)).toBe(true);
    gen.stamp(resp, 92, 1);
    expect(hex(resp.subarray(RESP_MAC2))).not.toBe(zeros16);
    expect(checkerI.checkMac2(resp, 92, v6.record, 0, 1)).toBe(true);
    expect(checkerI.checkMac2(resp, 92, v6b.record, 0, 1)).toBe(false);
    expect(checker.checkMac2(resp, 92, v6.record, 0, 1)).toBe(false); // another responder's secret
  });

  it('uses address ‖ port (network order) as the cookie input', () => {
    const { checker } = setup();
    checker.setSecret(new Uint8Array(32).fill(7), 0);
    const a = hex(checker.cookieFor(SRC.record, 0, 0));
    // Same address/port but different scope id / local part: same cookie.
    const rec = SRC.record.slice();
    rec.fill(0x55, 24, 48);
    expect(hex(checker.cookieFor(rec, 0, 0))).toBe(a);
    expect(hex(checker.cookieFor(Endpoint.fromAddress('127.0.0.1', 52001).record, 0, 0))).not.toBe(a);
  });

  it('rotates the secret after COOKIE_REFRESH_TIME, invalidating older cookies', () => {
    const random = new ScriptedRandom();
    const { checker, gen } = setup(random);
    const t0 = 5_000;
    const m = initiation(1n);
    gen.stamp(m, 148, t0);
    const before = random.fills;
    const reply = checker.createReply(m, 148, 1, SRC.record, 0, t0)!; // first use: secret made (+1 fill) and nonce (+1)
    expect(random.fills - before).toBe(2);
    expect(gen.consumeReply(reply, t0)).toBe(true);
    const cookieAtT0 = hex(checker.cookieFor(SRC.record, 0, t0));

    // A second cookie, issued late under the same secret, keeps the generator's cookie fresh.
    const late = t0 + 100_000;
    const m2 = initiation(3n);
    gen.stamp(m2, 148, late);
    expect(gen.consumeReply(checker.createReply(m2, 148, 1, SRC.record, 0, late)!, late)).toBe(true);
    const last = t0 + COOKIE_REFRESH_TIME - 1;
    const n = initiation(2n);
    gen.stamp(n, 148, last);
    expect(hex(n.subarray(INIT_MAC2))).not.toBe(zeros16);
    expect(checker.checkMac2(n, 148, SRC.record, 0, last)).toBe(true);
    expect(hex(checker.cookieFor(SRC.record, 0, last))).toBe(cookieAtT0);

    const fillsBefore = random.fills;
    expect(checker.checkMac2(n, 148, SRC.record, 0, t0 + COOKIE_REFRESH_TIME)).toBe(false);
    expect(random.fills).toBe(fillsBefore + 1); // new secret drawn
    expect(hex(checker.cookieFor(SRC.record, 0, t0 + COOKIE_REFRESH_TIME))).not.toBe(cookieAtT0);
  });

  it('a received cookie is used for mac2 for COOKIE_VALIDITY only', () => {
    const { checker, gen } = setup();
    const t0 = 1_000;
    const m = initiation(1n);
    gen.stamp(m, 148, t0);
    expect(gen.consumeReply(checker.createReply(m, 148, 1, SRC.record, 0, t0)!, t0 + 10)).toBe(true);
    const n = initiation(2n);
    gen.stamp(n, 148, t0 + 10 + COOKIE_VALIDITY - 1);
    expect(hex(n.subarray(INIT_MAC2))).not.toBe(zeros16);
    expect(checker.checkMac2(n, 148, SRC.record, 0, t0 + 10 + COOKIE_VALIDITY - 1)).toBe(true);
    expect(gen.hasValidCookie(t0 + 10 + COOKIE_VALIDITY)).toBe(false);
    gen.stamp(n, 148, t0 + 10 + COOKIE_VALIDITY);
    expect(hex(n.subarray(INIT_MAC2))).toBe(zeros16);
    gen.reset();
    expect(gen.hasValidCookie(t0 + 20)).toBe(false);
  });
});
