#!/usr/bin/env node
// A WireGuard interface on a real TUN, configured from code instead of `wg` (root).
//
//   sudo node examples/linux-tun.mjs <peer-public-key> <peer-host:port>
//   then: sudo ip addr add 10.9.0.1/24 dev tsgex0 && sudo ip link set tsgex0 up
import { Device, LinuxTun, NativeBind, generateKeyPair } from 'tsguard';

const [peerKey, peerEndpoint] = process.argv.slice(2);
if (!peerKey) {
  console.error('usage: node examples/linux-tun.mjs <peer-public-key> [peer-host:port]');
  process.exit(2);
}
const me = generateKeyPair();
const tun = LinuxTun.create('tsgex0', { mtu: 1420 });
const dev = new Device({ tun, bind: new NativeBind(), privateKey: me.privateKey, listenPort: 51820 });
dev.setPeer({ publicKey: peerKey, endpoint: peerEndpoint, allowedIPs: ['10.9.0.0/24'], persistentKeepalive: 25 });
dev.on('handshake', ({ publicKey }) => console.log(`handshake with ${publicKey}`));
await dev.up();
console.log(`${tun.name} is up; our public key: ${me.publicKey}; listening on UDP ${dev.listenPort}`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void dev.close().then(() => process.exit(0)));
