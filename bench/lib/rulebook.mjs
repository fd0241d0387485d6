/**
 * Phase (g)'s rulebook: 100 rules on the bench's GitHub source, of which 3 match each request
 * (a push whose payload has `kind: "bench"`). The other 97 are what a real rulebook holds beside
 * them: 45 rules on other event types, 42 on pushes with another payload kind, and 10 whose
 * condition no index can skip (a comparison on a number), so each of those is evaluated per
 * request. The 3 that match record the sequence number (`set`) and log a line (`log`; the
 * server's log level is warn, so the line is not written).
 */
export function benchRulebook(source = "bench") {
  const rules = [];
  const rule = (name, condition, actions) =>
    rules.push(
      [
        `  - name: ${name}`,
        `    sources: [${source}]`,
        `    condition: '${condition}'`,
        `    actions:`,
        ...actions.map((a) => `      - ${a}`),
      ].join("\n"),
    );
  for (let i = 0; i < 45; i++)
    rule(`other-type-${i}`, `event.type == "type-${i}"`, [`log: "type ${i}"`]);
  for (let i = 0; i < 42; i++)
    rule(`other-kind-${i}`, `event.type == "push" && event.payload.kind == "kind-${i}"`, [
      `log: "kind ${i}"`,
    ]);
  for (let i = 0; i < 10; i++)
    rule(`seq-${i}`, `event.payload.seq < ${-i - 1}`, [`log: "seq ${i}"`]);
  for (let i = 0; i < 3; i++)
    rule(`match-${i}`, `event.type == "push" && event.payload.kind == "bench"`, [
      `set: { seq: "{{ event.payload.seq }}" }`,
      `log: "matched {{ vars.seq }}"`,
    ]);
  return `rules:\n${rules.join("\n")}\n`;
}

/** Rules that match each request of phase (g). */
export const MATCHING_RULES = 3;
