/**
 * nftables rules for each NAT kind on a router whose public interface is
 * `wan` (address `wanIp`) and whose LAN host is `hostIp`. Verified on these
 * machines (see shared/notes/netns-nat-lab.md); one statement per line, as
 * nft's parser here wants.
 */
type LabNATKind = 'full-cone' | 'restricted' | 'port-restricted' | 'symmetric';

/**
 * A home router's firewall: nothing new from the WAN reaches the router
 * itself. Besides being what routers do, it matters for hole punching with
 * masquerade: an unsolicited packet to the router's own port would
 * otherwise leave a conntrack entry (unreplied, 30 s) whose reply tuple is
 * the very mapping the host is about to open toward that peer, and
 * masquerade would then pick another port (a port-restricted NAT turned
 * symmetric for that peer). A packet dropped in the input hook is never
 * confirmed, so no entry is left.
 */
const inputFirewall = `table ip filter {
 chain input {
  type filter hook input priority 0;
  iifname "wan" ct state new drop
 }
}
`;

function natRules(kind: LabNATKind, wanIp: string, hostIp: string): string {
  switch (kind) {
    case 'port-restricted':
      return `table ip nat {
 chain post {
  type nat hook postrouting priority 100;
  oifname "wan" masquerade
 }
}
${inputFirewall}`;
    case 'symmetric':
      return `table ip nat {
 chain post {
  type nat hook postrouting priority 100;
  oifname "wan" masquerade random,fully-random
 }
}
${inputFirewall}`;
    case 'full-cone':
      return `table ip nat {
 chain pre {
  type nat hook prerouting priority -100;
  iifname "wan" udp dport 1024-65535 dnat to ${hostIp}
 }
 chain post {
  type nat hook postrouting priority 100;
  oifname "wan" snat to ${wanIp} persistent
 }
}
`;
    case 'restricted':
      // Per mapping, as RFC 4787 means it: an inbound packet to a mapped port passes when that
      // mapping has sent to the packet's source IP (the port is preserved by `persistent`).
      return `table ip nat {
 set peers {
  type ipv4_addr . inet_service;
  flags dynamic,timeout;
  timeout 60s;
 }
 chain track {
  type filter hook forward priority 0;
  oifname "wan" meta l4proto udp update @peers { ip daddr . udp sport }
 }
 chain pre {
  type nat hook prerouting priority -100;
  iifname "wan" ip saddr . udp dport @peers dnat to ${hostIp}
 }
 chain post {
  type nat hook postrouting priority 100;
  oifname "wan" snat to ${wanIp} persistent
 }
}
`;
  }
}

export { natRules };
export type { LabNATKind };
