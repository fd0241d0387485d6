import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** A scrape parsed by a real Prometheus text-format parser, with lookups for assertions. */
export interface Scrape {
  families: ReturnType<typeof parsePrometheusTextFormat>;
  /** The value of the sample of `name` whose labels include `labels`; undefined when none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** A histogram sample's count (observations) for those labels. */
  count(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample's labels of `name`. */
  labels(name: string): Record<string, string>[];
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  if (!res.headers.get("content-type")?.startsWith("text/plain")) {
    throw new Error(`GET /metrics sent ${res.headers.get("content-type")}`);
  }
  const families = parsePrometheusTextFormat(await res.text());
  const sample = (name: string, labels: Record<string, string>) =>
    families
      .find((family) => family.name === name)
      ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    families,
    value: (name, labels = {}) => {
      const found = sample(name, labels);
      return found?.value === undefined ? undefined : Number(found.value);
    },
    count: (name, labels = {}) => {
      const found = sample(name, labels);
      return found?.count === undefined ? undefined : Number(found.count);
    },
    labels: (name) =>
      families.find((family) => family.name === name)?.metrics.map((m) => m.labels ?? {}) ?? [],
  };
}
