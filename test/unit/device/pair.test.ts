import { describe, expect, it } from 'vitest';
import { buildIcmpEcho, parseIcmpEcho } from '../../helpers/packets.js';
import { makePair, settle } from './pair.js';

describe('two devices over an in-memory network', () => {
  it('handshake on first packet, data both ways, exact byte counters (F1 arithmetic)', async () => {
    const p = await makePair();
    for (let seq = 1; seq <= 10; seq++) {
      p.tunA.inject(buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 7, seq, payload: new Uint8Array(56) }));
      await settle();
      const got = p.tunB.takeWritten();
      expect(got.length).toBe(1);
      const echo = parseIcmpEcho(got[0]);
      expect(echo?.seq).toBe(seq);
      p.tunB.inject(buildIcmpEcho({ src: '10.0.0.2', dst: '10.0.0.1', id: 7, seq, payload: new Uint8Array(56), reply: true }));
      await settle();
      expect(p.tunA.takeWritten().length).toBe(1);
    }
    const a = p.a.peers()[0];
    const b = p.b.peers()[0];
    // A sent the initiation (148) and 10 echo requests (84 B → 96 padded → 128); B the response (92) + 10 replies.
    expect(a.txBytes).toBe(148n + 10n * 128n);
    expect(a.rxBytes).toBe(92n + 10n * 128n);
    expect(b.rxBytes).toBe(a.txBytes);
    expect(b.txBytes).toBe(a.rxBytes);
    expect(a.lastHandshake).toBeGreaterThan(0);
    expect(b.lastHandshake).toBeGreaterThan(0);
    expect(b.endpoint).toBe('192.0.2.1:1001');
    await p.a.close();
    await p.b.close();
  });
});
