import { describe, expect, it } from 'vitest';
import {
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
} from '../../../src/constants.js';
import {
  COOKIE_ENCRYPTED,
  INIT_MAC1,
  INIT_MAC2,
  INIT_TIMESTAMP,
  RESP_EMPTY,
  RESP_MAC1,
  RESP_MAC2,
  mac1Offset,
  mac2Offset,
  messageType,
  readTransportCounter,
  readTransportCounterHi,
  readTransportCounterLo,
  readTransportReceiver,
  readU32LE,
  writeTransportHeader,
  writeU32LE,
} from '../../../src/noise/index.js';
import { hex } from './helpers.js';

function msg(type: number, len: number): Uint8Array {
  const m = new Uint8Array(len);
  if (len > 0) m[0] = type;
  return m;
}

describe('message layouts', () => {
  it('places the fields as the whitepaper does', () => {
    expect([INIT_TIMESTAMP + 28, INIT_MAC1, INIT_MAC2 + 16]).toEqual([INIT_MAC1, 116, MESSAGE_INITIATION_SIZE]);
    expect([RESP_EMPTY + 16, RESP_MAC1, RESP_MAC2 + 16]).toEqual([RESP_MAC1, 60, MESSAGE_RESPONSE_SIZE]);
    expect(COOKIE_ENCRYPTED + 32).toBe(MESSAGE_COOKIE_REPLY_SIZE);
    expect([mac1Offset(148), mac2Offset(148), mac1Offset(92), mac2Offset(92)]).toEqual([116, 132, 60, 76]);
  });

  it('writes and reads the transport header (LE u32 index, LE u64 counter)', () => {
    const buf = new Uint8Array(40).fill(0xee);
    writeTransportHeader(buf, 3, 0x55667788, 0x04030201, 0x08070605);
    expect(hex(buf.subarray(3, 19))).toBe('04000000' + '88776655' + '0102030405060708');
    expect(readTransportReceiver(buf, 3)).toBe(0x55667788);
    expect(readTransportCounterLo(buf, 3)).toBe(0x04030201);
    expect(readTransportCounterHi(buf, 3)).toBe(0x08070605);
    expect(readTransportCounter(buf, 3)).toBe(0x0807060504030201n);
    expect(buf[2]).toBe(0xee);
    expect(buf[19]).toBe(0xee);
  });

  it('reads/writes u32 LE including the top bit', () => {
    const b = new Uint8Array(4);
    writeU32LE(b, 0, 0xfffffffe);
    expect(hex(b)).toBe('feffffff');
    expect(readU32LE(b, 0)).toBe(0xfffffffe);
  });
});

describe('messageType classifier', () => {
  it('accepts exact handshake sizes and transport ≥ 32 bytes', () => {
    expect(messageType(msg(1, 148), 0, 148)).toBe(1);
    expect(messageType(msg(2, 92), 0, 92)).toBe(2);
    expect(messageType(msg(3, 64), 0, 64)).toBe(3);
    expect(messageType(msg(4, 32), 0, 32)).toBe(4);
    expect(messageType(msg(4, 1500), 0, 1500)).toBe(4);
  });

  it('rejects truncated and oversized handshake messages and short transport', () => {
    for (const [type, size] of [[1, 148], [2, 92], [3, 64]]) {
      expect(messageType(msg(type, size - 1), 0, size - 1)).toBe(0);
      expect(messageType(msg(type, size + 1), 0, size + 1)).toBe(0);
      expect(messageType(msg(type, size + 16), 0, size + 16)).toBe(0);
      expect(messageType(msg(type, 4), 0, 4)).toBe(0);
    }
    expect(messageType(msg(4, 31), 0, 31)).toBe(0);
    expect(messageType(msg(4, 16), 0, 16)).toBe(0);
    expect(messageType(new Uint8Array(0), 0, 0)).toBe(0);
    expect(messageType(new Uint8Array(3), 0, 3)).toBe(0);
  });

  it('rejects nonzero reserved bytes and unknown types', () => {
    for (let i = 1; i < 4; i++) {
      const m = msg(1, 148);
      m[i] = 1;
      expect(messageType(m, 0, 148)).toBe(0);
    }
    for (const t of [0, 5, 0x80, 0xff]) expect(messageType(msg(t, 148), 0, 148)).toBe(0);
  });

  it('classifies at an offset and refuses ranges outside the buffer', () => {
    const buf = new Uint8Array(300);
    buf[10] = 1;
    expect(messageType(buf, 10, 148)).toBe(1);
    expect(messageType(buf, 10, 147)).toBe(0);
    buf[200] = 4;
    expect(messageType(buf, 200, 100)).toBe(4);
    expect(messageType(buf, 200, 101)).toBe(0); // runs past the end
    expect(messageType(buf, -1, 148)).toBe(0);
  });
});
