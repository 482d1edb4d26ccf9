import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONSTRUCTION,
  IDENTIFIER,
  LABEL_COOKIE,
  LABEL_MAC1,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
} from '../../../src/constants.js';
import {
  aeadOpen,
  aeadSeal,
  blake2s,
  clampPrivateKey,
  createTransportCipher,
  getCryptoBackend,
  nobleX25519,
  nodeX25519,
  setCryptoBackend,
  x25519,
  type CryptoBackendName,
} from '../../../src/crypto/index.js';
import { Endpoint } from '../../../src/io/endpoint.js';
import {
  CookieChecker,
  CookieGenerator,
  INIT_MAC2,
  TRANSPORT_DATA,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createLocalIdentity,
  createRemoteIdentity,
  createResponse,
  messageType,
  readTransportCounter,
  readTransportReceiver,
  tai64n,
  wireguardInitialState,
  writeTransportHeader,
  type HandshakeTrace,
} from '../../../src/noise/index.js';
import { ScriptedRandom, bytes, hex, loadVector, type TranscriptVector } from './helpers.js';

const V = loadVector<TranscriptVector>('wireguard_handshake_transcript.json');
const I = V.inputs;
const utf8 = new TextEncoder();

function traceHex(t: HandshakeTrace): Record<string, string> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, hex(v)]));
}

/** Run the whole transcript handshake; returns everything the tests compare. */
function runHandshake() {
  const localI = createLocalIdentity(bytes(I.initiator_static_private));
  const localR = createLocalIdentity(bytes(I.responder_static_private));
  const psk = bytes(I.preshared_key);
  const remoteR = createRemoteIdentity(localI, localR.publicKey, psk); // initiator's view of R
  const remoteI = createRemoteIdentity(localR, localI.publicKey, psk); // responder's view of I
  const wallNs = BigInt(I.timestamp_unix_seconds) * 1_000_000_000n + BigInt(I.timestamp_nanoseconds);

  const initTrace: HandshakeTrace = {};
  const init = createInitiation(
    localI,
    remoteR,
    { senderIndex: I.initiator_sender_index, ephemeralPrivate: bytes(I.initiator_ephemeral_private), timestamp: tai64n(wallNs) },
    initTrace,
  );
  if (!init) throw new Error('createInitiation failed');
  const genI = new CookieGenerator(remoteR); // stamps messages the initiator sends to R
  genI.stamp(init.message, MESSAGE_INITIATION_SIZE, 0);

  const checkerR = new CookieChecker(localR, new ScriptedRandom());
  const mac1Ok = checkerR.checkMac1(init.message, MESSAGE_INITIATION_SIZE);
  const consumeTrace: HandshakeTrace = {};
  const looked: string[] = [];
  const consumed = consumeInitiation(
    localR,
    init.message,
    (pub) => {
      looked.push(hex(pub));
      return hex(pub) === hex(localI.publicKey) ? remoteI : undefined;
    },
    consumeTrace,
  );
  if (!consumed) throw new Error('consumeInitiation failed');

  const respTrace: HandshakeTrace = {};
  const resp = createResponse(
    localR,
    consumed.remote,
    consumed.state,
    { senderIndex: I.responder_sender_index, ephemeralPrivate: bytes(I.responder_ephemeral_private) },
    respTrace,
  );
  if (!resp) throw new Error('createResponse failed');
  const genR = new CookieGenerator(remoteI);
  genR.stamp(resp.message, MESSAGE_RESPONSE_SIZE, 0);

  const checkerI = new CookieChecker(localI, new ScriptedRandom());
  const respMac1Ok = checkerI.checkMac1(resp.message, MESSAGE_RESPONSE_SIZE);
  const consumeRespTrace: HandshakeTrace = {};
  const keysI = consumeResponse(localI, remoteR, init.state, resp.message, consumeRespTrace);
  if (!keysI) throw new Error('consumeResponse failed');

  return {
    localI, localR, remoteI, remoteR, init, initTrace, consumed, consumeTrace, looked, mac1Ok,
    resp, respTrace, respMac1Ok, consumeRespTrace, keysI, keysR: resp.keys, checkerR, genI,
  };
}

describe.each<CryptoBackendName>(['node', 'noble'])('WireGuard transcript (%s backend)', (backend) => {
  let r: ReturnType<typeof runHandshake>;
  beforeAll(() => {
    setCryptoBackend(backend);
    r = runHandshake();
  });
  afterAll(() => setCryptoBackend('node'));

  it('runs on the selected backend', () => {
    expect(getCryptoBackend()).toBe(backend);
    expect(r.localI.backend).toBe(backend === 'node' ? nodeX25519 : nobleX25519);
  });

  it('derives the inputs as documented', () => {
    const label = (s: string) => clampPrivateKey(blake2s(utf8.encode(`wireguard-kat ${s}`)));
    expect(hex(label('initiator static'))).toBe(I.initiator_static_private);
    expect(hex(label('responder static'))).toBe(I.responder_static_private);
    expect(hex(label('initiator ephemeral'))).toBe(I.initiator_ephemeral_private);
    expect(hex(label('responder ephemeral'))).toBe(I.responder_ephemeral_private);
    expect(hex(blake2s(utf8.encode('wireguard-kat preshared key')))).toBe(I.preshared_key);
    expect(hex(r.localI.publicKey)).toBe(I.initiator_static_public);
    expect(hex(r.localR.publicKey)).toBe(I.responder_static_public);
    expect(hex(x25519.publicKey(bytes(I.initiator_ephemeral_private)))).toBe(I.initiator_ephemeral_public);
    expect(hex(x25519.publicKey(bytes(I.responder_ephemeral_private)))).toBe(I.responder_ephemeral_public);
    const wallNs = BigInt(I.timestamp_unix_seconds) * 1_000_000_000n + BigInt(I.timestamp_nanoseconds);
    expect(hex(tai64n(wallNs))).toBe(I.timestamp_tai64n);
  });

  it('uses the constants and initial chaining key / hash', () => {
    const C = V.constants;
    expect([C.construction, C.identifier, C.label_mac1, C.label_cookie]).toEqual([
      CONSTRUCTION,
      IDENTIFIER,
      LABEL_MAC1,
      LABEL_COOKIE,
    ]);
    const s = wireguardInitialState();
    expect(hex(s.ck)).toBe(C.initial_chaining_key);
    expect(hex(s.h)).toBe(C.initial_hash);
  });

  it('builds the initiation byte for byte with every intermediate', () => {
    const want = { ...V.initiation_intermediates };
    expect(hex(r.remoteR.mac1Key)).toBe(want.mac1_key);
    delete want.mac1_key;
    const got = traceHex(r.initTrace);
    for (const [name, value] of Object.entries(want)) expect(got[name], name).toBe(value);
    expect(Object.keys(want).length).toBe(10);
    expect(hex(r.init.message)).toBe(V.messages.initiation);
  });

  it('consumes the initiation on the responder with the same intermediates', () => {
    expect(r.mac1Ok).toBe(true);
    expect(r.looked).toEqual([I.initiator_static_public]);
    const want = { ...V.initiation_intermediates };
    delete want.mac1_key;
    expect(hex(r.localR.responderStart.h)).toBe(want.h_after_responder_static);
    delete want.h_after_responder_static;
    const got = traceHex(r.consumeTrace);
    for (const [name, value] of Object.entries(want)) expect(got[name], name).toBe(value);
    expect(r.consumed.remote).toBe(r.remoteI);
    expect(hex(r.consumed.timestamp)).toBe(I.timestamp_tai64n);
    expect(r.consumed.state.remoteIndex).toBe(I.initiator_sender_index);
    expect(hex(r.consumed.state.remoteEphemeral)).toBe(I.initiator_ephemeral_public);
  });

  it('builds the response byte for byte with every intermediate', () => {
    const want = { ...V.response_intermediates };
    expect(hex(r.remoteI.mac1Key)).toBe(want.mac1_key);
    delete want.mac1_key;
    const got = traceHex(r.respTrace);
    for (const [name, value] of Object.entries(want)) expect(got[name], name).toBe(value);
    expect(got.h_after_response).toBe(V.handshake_hash);
    expect(got.ck_after_psk).toBe(V.final_chaining_key);
    expect(hex(r.resp.message)).toBe(V.messages.response);
  });

  it('consumes the response on the initiator and agrees on transport keys', () => {
    expect(r.respMac1Ok).toBe(true);
    // Same intermediates on both sides of message 2 (including the ones the vector omits).
    expect(traceHex(r.consumeRespTrace)).toEqual(traceHex(r.respTrace));
    const send = V.transport_keys['initiator_sending_key (=responder_receiving_key)'];
    const recv = V.transport_keys['initiator_receiving_key (=responder_sending_key)'];
    expect(hex(r.keysI.sendKey)).toBe(send);
    expect(hex(r.keysI.receiveKey)).toBe(recv);
    expect(hex(r.keysR.sendKey)).toBe(recv);
    expect(hex(r.keysR.receiveKey)).toBe(send);
    expect(r.keysI).toMatchObject({ localIndex: I.initiator_sender_index, remoteIndex: I.responder_sender_index, isInitiator: true });
    expect(r.keysR).toMatchObject({ localIndex: I.responder_sender_index, remoteIndex: I.initiator_sender_index, isInitiator: false });
  });

  it('reproduces the cookie reply and the mac2-carrying initiation', () => {
    const C = V.cookie;
    const src = Endpoint.fromAddress('127.0.0.1', 52000);
    expect(C.source).toContain('127.0.0.1:52000');
    expect(hex(r.localR.cookieKey)).toBe(C['cookie_encryption_key = HASH("cookie--" || responder_static_public)']);
    const checker = new CookieChecker(r.localR, new ScriptedRandom());
    checker.setSecret(bytes(C.cookie_secret), 1000);
    expect(hex(checker.cookieFor(src.record, 0, 1000))).toBe(C['cookie = MAC(cookie_secret, source_ip_port_bytes)']);

    const nonceRandom = new ScriptedRandom(bytes(C.nonce));
    const reply = checker.createReply(
      r.init.message, MESSAGE_INITIATION_SIZE, I.initiator_sender_index, src.record, 0, 1000, nonceRandom,
    );
    expect(reply && hex(reply)).toBe(C.cookie_reply_message);
    expect(messageType(reply!, 0, reply!.length)).toBe(3);

    // The initiator takes the cookie and stamps its retransmission with mac2.
    const gen = new CookieGenerator(r.remoteR);
    const msg = r.init.message.slice();
    gen.stamp(msg, MESSAGE_INITIATION_SIZE, 2000);
    expect(hex(msg)).toBe(V.messages.initiation); // no cookie yet: mac2 zero
    expect(gen.consumeReply(reply!, 2000)).toBe(true);
    gen.stamp(msg, MESSAGE_INITIATION_SIZE, 3000);
    expect(hex(msg)).toBe(C.initiation_with_mac2);
    expect(hex(msg.subarray(INIT_MAC2))).toBe(C['mac2 = MAC(cookie, initiation[0:132])']);
    expect(checker.checkMac1(msg, MESSAGE_INITIATION_SIZE)).toBe(true);
    expect(checker.checkMac2(msg, MESSAGE_INITIATION_SIZE, src.record, 0, 3000)).toBe(true);
    // A mac2 initiation still consumes (mac2 is outside the Noise transcript).
    expect(consumeInitiation(r.localR, msg, () => r.remoteI)).not.toBeNull();
  });

  it('matches the transport samples (layout and sealing)', () => {
    const send = bytes(V.transport_keys['initiator_sending_key (=responder_receiving_key)']);
    const recv = bytes(V.transport_keys['initiator_receiving_key (=responder_sending_key)']);
    expect(V.transport_samples.length).toBe(3);
    for (const s of V.transport_samples) {
      const fromInitiator = s.direction === 'initiator->responder';
      const key = fromInitiator ? send : recv;
      // Receiver index is the other side's local index from the handshake.
      expect(s.receiver_index).toBe(fromInitiator ? r.keysR.localIndex : r.keysI.localIndex);
      const plain = bytes(s.plaintext_ip_packet);
      const padded = new Uint8Array(Math.ceil(plain.length / 16) * 16);
      padded.set(plain);

      // Reference construction: header ‖ aeadSeal.
      const header = new Uint8Array(TRANSPORT_DATA);
      writeTransportHeader(header, 0, s.receiver_index, s.counter, 0);
      const sealed = aeadSeal(key, BigInt(s.counter), padded, new Uint8Array(0));
      expect(hex(header) + hex(sealed)).toBe(s.message);

      // In-place transport cipher at an offset, as the device does it.
      const buf = new Uint8Array(8 + TRANSPORT_DATA + padded.length + 16);
      writeTransportHeader(buf, 8, s.receiver_index, s.counter, 0);
      buf.set(padded, 8 + TRANSPORT_DATA);
      const cipher = createTransportCipher(fromInitiator ? r.keysI.sendKey : r.keysR.sendKey);
      cipher.seal(s.counter, 0, buf, 8 + TRANSPORT_DATA, padded.length);
      cipher.destroy();
      expect(hex(buf.subarray(8))).toBe(s.message);

      // The receiver parses and opens it with its own handshake keys.
      const m = bytes(s.message);
      expect(messageType(m, 0, m.length)).toBe(4);
      expect(readTransportReceiver(m, 0)).toBe(s.receiver_index);
      expect(readTransportCounter(m, 0)).toBe(BigInt(s.counter));
      const opened = aeadOpen(fromInitiator ? r.keysR.receiveKey : r.keysI.receiveKey, BigInt(s.counter), m.subarray(16), new Uint8Array(0));
      expect(opened && hex(opened)).toBe(hex(padded));
    }
  });
});
