import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  inCidrList,
  checkAddress,
  clientNetwork,
  checkUrl,
  InvalidCidrError,
  parseCidr,
  parseCidrList,
  resolvePinned,
  type LookupFn,
} from "../../src/delivery/ssrf-guard.js";

const NONE: never[] = [];

function refusal(ip: string, allow = parseCidrList(NONE)): string {
  const verdict = checkAddress(ip, allow);
  if (verdict.allowed) throw new Error(`expected ${ip} to be refused, but it was allowed`);
  return verdict.reason;
}

function lookupTable(table: Record<string, string[]>): LookupFn {
  return (hostname) => {
    const addresses = table[hostname];
    if (addresses === undefined) {
      return Promise.reject(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }),
      );
    }
    return Promise.resolve(
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );
  };
}

describe("CIDR parsing", () => {
  it("parses IPv4 and IPv6 networks and treats a bare address as a single host", () => {
    expect(parseCidr("10.1.2.3/8")).toMatchObject({
      family: 4,
      prefix: 8,
      bytes: Uint8Array.from([10, 0, 0, 0]),
    });
    expect(parseCidr("127.0.0.1")).toMatchObject({ family: 4, prefix: 32 });
    expect(parseCidr("fd00::/8")).toMatchObject({ family: 6, prefix: 8 });
    expect(parseCidr("::1")).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCidr(" ::ffff:1.2.3.4/128 ").bytes).toEqual(
      Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]),
    );
  });

  it("parses comma-separated lists and arrays, skipping blank entries", () => {
    expect(parseCidrList("127.0.0.1/32, ::1 ,").map((c) => c.text)).toEqual([
      "127.0.0.1/32",
      "::1",
    ]);
    expect(parseCidrList(["10.0.0.0/8"]).map((c) => c.prefix)).toEqual([8]);
    expect(parseCidrList("")).toEqual([]);
  });

  it("names the bad entry when a CIDR does not parse", () => {
    for (const bad of [
      "10.0.0.0/33",
      "::/129",
      "example.com/8",
      "10.0.0.0/",
      "10.0.0/8",
      "1.2.3.4/-1",
      "1.2.3.4/08x",
    ]) {
      expect(() => parseCidr(bad), bad).toThrow(InvalidCidrError);
      expect(() => parseCidr(bad), bad).toThrow(bad);
    }
    expect(() => parseCidrList("127.0.0.1/32,nonsense")).toThrow(/"nonsense"/);
  });

  it("throws only InvalidCidrError for arbitrary garbage", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseCidr(text);
        } catch (err) {
          return err instanceof InvalidCidrError;
        }
        return true;
      }),
    );
  });
});

describe("CIDR allow-lists (inbound sources' allowedIps)", () => {
  it("matches IPv4, IPv6 and IPv4-mapped IPv6 addresses, and nothing that is not an address", () => {
    const list = parseCidrList(["140.82.112.0/20", "2001:db8::/32"]);
    expect(inCidrList("140.82.115.9", list)).toBe(true);
    expect(inCidrList("::ffff:140.82.115.9", list), "as a dual-stack socket reports it").toBe(true);
    expect(inCidrList("140.82.128.1", list)).toBe(false);
    expect(inCidrList("2001:db8:1::5", list)).toBe(true);
    expect(inCidrList("2001:db9::1", list)).toBe(false);
    expect(inCidrList("not an ip", list)).toBe(false);
  });
});

describe("egress address check", () => {
  it.each([
    ["127.0.0.1", "loopback address 127.0.0.1 is not allowed"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback address ::1 is not allowed"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["10.20.30.40", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fd12:3456::1", "private"],
    ["100.64.0.1", "CGNAT"],
    ["169.254.169.254", "cloud metadata address 169.254.169.254 is not allowed"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fd00:ec2::254", "cloud metadata"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["192.0.0.8", "IETF"],
    ["198.18.0.1", "benchmarking"],
    ["2001:db8::1", "documentation"],
    [
      "::ffff:127.0.0.1",
      "loopback address 127.0.0.1 is not allowed (embedded in ::ffff:127.0.0.1)",
    ],
    ["::ffff:a9fe:a9fe", "cloud metadata"],
    ["64:ff9b::10.0.0.1", "private address 10.0.0.1"],
    ["2002:7f00:1::", "loopback address 127.0.0.1"],
    ["100::1", "reserved"],
    ["4000::1", "reserved"],
  ])("refuses %s", (ip, reason) => {
    expect(refusal(ip)).toContain(reason);
  });

  it("allows public IPv4 and global unicast IPv6 addresses, including their embedded forms", () => {
    for (const ip of [
      "93.184.216.34",
      "8.8.8.8",
      "172.32.0.1",
      "100.128.0.1",
      "2606:4700::1111",
      "::ffff:8.8.8.8",
      "64:ff9b::8.8.8.8",
      "2002:0808:0808::1",
    ]) {
      expect(checkAddress(ip, []), ip).toEqual({ allowed: true });
    }
  });

  it("allows anything inside the allow-list, judging embedded IPv4 against it too", () => {
    const allow = parseCidrList("127.0.0.1/32,10.0.0.0/8,fd00::/8");
    expect(checkAddress("127.0.0.1", allow)).toEqual({ allowed: true });
    expect(checkAddress("::ffff:127.0.0.1", allow)).toEqual({ allowed: true });
    expect(checkAddress("10.9.8.7", allow)).toEqual({ allowed: true });
    expect(checkAddress("fd00:ec2::254", allow)).toEqual({ allowed: true });
    expect(refusal("127.0.0.2", allow)).toContain("loopback");
    expect(refusal("::1", allow)).toContain("loopback");
  });

  it("refuses text that is not an IP address", () => {
    expect(refusal("example.com")).toContain("not an IP address");
    expect(refusal("")).toContain("not an IP address");
  });
});

describe("egress URL check", () => {
  it("accepts http and https URLs with a host", () => {
    const verdict = checkUrl("https://hooks.example.com:8443/in?x=1");
    expect(verdict.ok && verdict.url.hostname).toBe("hooks.example.com");
    expect(checkUrl("http://[::1]:8080/").ok).toBe(true);
  });

  it("refuses other schemes, credentials, garbage and oversized URLs with a reason", () => {
    const reasonOf = (url: string): string => {
      const verdict = checkUrl(url);
      return verdict.ok ? "accepted" : verdict.reason;
    };
    expect(reasonOf("ftp://example.com/")).toContain('scheme "ftp"');
    expect(reasonOf("file:///etc/passwd")).toContain('scheme "file"');
    expect(reasonOf("https://user:pass@example.com/")).toContain("credentials");
    expect(reasonOf("https://token@example.com/")).toContain("credentials");
    expect(reasonOf("not a url")).toContain("not a valid");
    expect(reasonOf("/relative")).toContain("not a valid");
    expect(reasonOf(`https://example.com/${"a".repeat(65_536)}`)).toContain("longer than 65536");
  });
});

describe("pinned resolution", () => {
  it("checks IP literals directly, including bracketed IPv6 from URL.hostname", async () => {
    const noLookup: LookupFn = () =>
      Promise.reject(new Error("lookup must not be called for literals"));
    await expect(resolvePinned("8.8.8.8", [], noLookup)).resolves.toEqual({
      ok: true,
      address: "8.8.8.8",
      family: 4,
    });
    await expect(resolvePinned("[2606:4700::1111]", [], noLookup)).resolves.toEqual({
      ok: true,
      address: "2606:4700::1111",
      family: 6,
    });
    await expect(resolvePinned("169.254.169.254", [], noLookup)).resolves.toMatchObject({
      ok: false,
      errorClass: "egress_blocked",
      reason: expect.stringContaining("cloud metadata"),
    });
    await expect(
      resolvePinned(new URL("http://[::1]/").hostname, [], noLookup),
    ).resolves.toMatchObject({
      ok: false,
      errorClass: "egress_blocked",
    });
  });

  it("pins the first address of a name whose every address is public", async () => {
    const lookup = lookupTable({ "hooks.example": ["93.184.216.34", "2606:2800:220:1::"] });
    await expect(resolvePinned("hooks.example", [], lookup)).resolves.toEqual({
      ok: true,
      address: "93.184.216.34",
      family: 4,
    });
  });

  it("refuses a name that resolves to loopback unless loopback is allow-listed", async () => {
    const lookup = lookupTable({ "evil.example": ["127.0.0.1"] });
    await expect(resolvePinned("evil.example", [], lookup)).resolves.toEqual({
      ok: false,
      errorClass: "egress_blocked",
      reason:
        "evil.example resolves to a refused address: loopback address 127.0.0.1 is not allowed",
    });
    await expect(
      resolvePinned("evil.example", parseCidrList("127.0.0.1/32"), lookup),
    ).resolves.toEqual({
      ok: true,
      address: "127.0.0.1",
      family: 4,
    });
  });

  it("refuses a mixed answer even when the first address is public", async () => {
    const lookup = lookupTable({ "mixed.example": ["93.184.216.34", "10.0.0.5"] });
    await expect(resolvePinned("mixed.example", [], lookup)).resolves.toMatchObject({
      ok: false,
      errorClass: "egress_blocked",
      reason: expect.stringContaining("10.0.0.5"),
    });
  });

  it("reports lookup failures and empty answers as DNS errors", async () => {
    const lookup = lookupTable({ "empty.example": [] });
    await expect(resolvePinned("missing.example", [], lookup)).resolves.toEqual({
      ok: false,
      errorClass: "dns",
      reason: "DNS lookup of missing.example failed (ENOTFOUND)",
    });
    await expect(resolvePinned("empty.example", [], lookup)).resolves.toMatchObject({
      ok: false,
      errorClass: "dns",
    });
  });

  it("refuses localhost through the system resolver", async () => {
    await expect(resolvePinned("localhost", [])).resolves.toMatchObject({
      ok: false,
      errorClass: "egress_blocked",
    });
  });
});

describe("clientNetwork", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::ffff:cb00:7107", "203.0.113.7"],
    ["2001:db8:0:1:ffff::2", "2001:db8:0:1:0:0:0:0/64"],
    ["2001:DB8:0:1::9", "2001:db8:0:1:0:0:0:0/64"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:0/64"],
    ["not an address", "not an address"],
  ])("counts %s as %s", (ip, network) => {
    expect(clientNetwork(ip)).toBe(network);
  });
});
