import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** `10.0.0.7` or `10.0.0.0/8`, `::1` or `fd00::/8`: the forms TRUST_PROXY accepts. */
export function isAddressOrSubnet(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  // A /0 would trust every address, and so let any client name itself in X-Forwarded-For.
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** An IPv4 client seen through a dual-stack socket (`::ffff:10.0.0.7`) is the IPv4 address. */
function plain(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The address a request comes from, as per-address limits should count it: the socket's peer, unless that peer
 * is one of the `trusted` proxies (addresses or subnets). Then X-Forwarded-For is read from the right (each proxy
 * appends the address it saw) and the first address not itself a trusted proxy is the client. Entries left of
 * that are the client's own to write and are ignored; without trusted proxies the header is never read.
 */
export function clientAddressReader(trusted: readonly string[]): (req: IncomingMessage) => string {
  const proxies = new BlockList();
  for (const entry of trusted) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) proxies.addAddress(address, type);
    else proxies.addSubnet(address, Number(prefix), type);
  }
  const isProxy = (address: string) => {
    const family = isIP(address);
    return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    let address = plain(req.socket.remoteAddress ?? 'unknown');
    if (!trusted.length || !isProxy(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => plain(hop.trim()));
    while (isProxy(address)) {
      const hop = hops.pop();
      // Nothing (more) forwarded, or something that is no address: the nearest proxy is as far as is known.
      if (!hop || !isIP(hop)) break;
      address = hop;
    }
    return address;
  };
}

/**
 * What per-address limits count for a client address: an IPv4 address itself, an IPv6 address by its /64, the
 * smallest network a provider hands one subscriber or one phone. Counted by /128, one host with a /64 could
 * spread over 2^64 addresses. An IPv6 address carrying an IPv4 one (NAT64's `64:ff9b::192.0.2.1`) stands for
 * that IPv4 client, and is counted alone.
 */
export function limitKey(address: string): string {
  if (isIP(address) !== 6 || address.includes('.')) return address;
  const [head = '', tail] = address.toLowerCase().split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}
