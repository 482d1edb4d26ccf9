import { describe, expect, it } from 'vitest';
import { formatPrefix, maskAddress, parsePrefix } from '../../../src/routing/prefix.js';

const fmt = (text: string): string | null => {
  const p = parsePrefix(text);
  return p === null ? null : formatPrefix(p.family, p.addr, p.bits);
};

describe('parsePrefix', () => {
  it('parses IPv4 and keeps host bits (the table masks them)', () => {
    const p = parsePrefix('10.1.2.3/8')!;
    expect(p.family).toBe(4);
    expect([...p.addr]).toEqual([10, 1, 2, 3]);
    expect(p.bits).toBe(8);
    expect(parsePrefix('0.0.0.0/0')).toEqual({ family: 4, addr: new Uint8Array(4), bits: 0 });
    expect(parsePrefix('255.255.255.255/32')!.addr).toEqual(new Uint8Array(4).fill(255));
  });

  it('parses IPv6 forms, including uppercase, leading-zero groups and IPv4 tails', () => {
    const p = parsePrefix('2001:db8::1/64')!;
    expect(p.family).toBe(6);
    expect(p.bits).toBe(64);
    expect([...p.addr]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parsePrefix('::/0')).toEqual({ family: 6, addr: new Uint8Array(16), bits: 0 });
    expect(parsePrefix('2001:0DB8:0000:0000:0000:0000:0000:0001/128')!.addr).toEqual(p.addr);
    expect([...parsePrefix('::ffff:10.1.2.3/128')!.addr.subarray(10)]).toEqual([0xff, 0xff, 10, 1, 2, 3]);
    expect(parsePrefix('::1/128')!.addr[15]).toBe(1);
  });

  it.each([
    ['10.1.1.1', 'no length'],
    ['10.1.1.1/', 'empty length'],
    ['10.0.0.0/33', 'v4 too long'],
    ['::/129', 'v6 too long'],
    ['2001:db8::/200', 'v6 way too long'],
    ['10.0.0.0/1234', 'four digits'],
    ['+10.0.0.0/8', 'plus sign on address'],
    ['-10.0.0.0/8', 'minus sign on address (UAPI strips it before parsing)'],
    ['10.0.0.0/+8', 'plus sign on length'],
    ['10.0.0.0/-8', 'minus sign on length'],
    ['10.0.0.0/08', 'leading zero in length'],
    ['::/00', 'leading zero in v6 length'],
    ['10.0.0.0/ 8', 'space in length'],
    [' 10.0.0.0/8', 'leading space'],
    ['10.0.0.0/8 ', 'trailing space'],
    ['10.0.0.0/8/8', 'two slashes'],
    ['10.0.0.0/0x8', 'hex length'],
    ['10.0.0.0/8.0', 'fractional length'],
    ['010.0.0.0/8', 'leading zero octet (not canonical)'],
    ['10.0.0/8', 'three octets'],
    ['10.0.0.256/32', 'octet out of range'],
    ['10.0.0.0.0/32', 'five octets'],
    ['fe80::1%eth0/64', 'zone'],
    ['fe80::1%2/64', 'numeric zone'],
    ['[::1]/128', 'brackets'],
    ['1:2:3:4:5:6:7:8:9/128', 'nine groups'],
    ['2001:db8:::1/64', 'triple colon'],
    ['12345::/16', 'five hex digits'],
    ['g::/16', 'not hex'],
    ['localhost/32', 'hostname'],
    ['/8', 'no address'],
    ['', 'empty'],
  ])('rejects %s (%s)', (text) => {
    expect(parsePrefix(text)).toBeNull();
  });
});

describe('formatPrefix', () => {
  it('writes IPv4 with host bits cleared', () => {
    expect(formatPrefix(4, Uint8Array.of(10, 0, 0, 0), 8)).toBe('10.0.0.0/8');
    expect(formatPrefix(4, Uint8Array.of(192, 95, 5, 93), 27)).toBe('192.95.5.64/27');
    expect(formatPrefix(4, Uint8Array.of(1, 2, 3, 4), 0)).toBe('0.0.0.0/0');
    expect(formatPrefix(4, Uint8Array.of(1, 2, 3, 4), 32)).toBe('1.2.3.4/32');
  });

  it('writes IPv6 as RFC 5952 text', () => {
    expect(fmt('2001:0DB8:0:0:0:0:0:1/128')).toBe('2001:db8::1/128');
    expect(fmt('2001:db8:0:0:1:0:0:1/128')).toBe('2001:db8::1:0:0:1/128');
    expect(fmt('2001:db8:0:1:1:1:1:1/128')).toBe('2001:db8:0:1:1:1:1:1/128');
    expect(fmt('::/0')).toBe('::/0');
    expect(fmt('ffff::/1')).toBe('8000::/1');
    expect(fmt('2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/83')).toBe('2607:5300:6d8a:6bf8:dab1:e000::/83');
    expect(fmt('2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/21')).toBe('2607:5000::/21');
    expect(fmt('::ffff:10.1.2.3/128')).toBe('::ffff:10.1.2.3/128');
  });

  it('round-trips what it writes', () => {
    for (const text of ['10.0.0.0/8', '0.0.0.0/0', '192.168.4.4/32', '2404:6800::/32', 'fd00::1/128', '::/0']) {
      expect(fmt(text)).toBe(text);
    }
  });

  it('validates its input', () => {
    expect(() => formatPrefix(4, new Uint8Array(4), 33)).toThrow(RangeError);
    expect(() => formatPrefix(6, new Uint8Array(4), 8)).toThrow(RangeError);
  });

  it('maskAddress clears the bits after the prefix and copies', () => {
    const a = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    expect([...maskAddress(a, 0)]).toEqual([0, 0, 0, 0]);
    expect([...maskAddress(a, 9)]).toEqual([0xff, 0x80, 0, 0]);
    expect([...maskAddress(a, 23)]).toEqual([0xff, 0xff, 0xfe, 0]);
    expect([...maskAddress(a, 32)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([...a]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});
