import { describe, expect, it } from "vitest";
import { backtrackingProblem } from "../src/cel-cost.js";

// A pattern in a rule condition or a payload filter is matched against text from the event:
// JavaScript's engine backtracks, so shapes that can take exponential time are refused.

describe("backtrackingProblem", () => {
  it.each([
    "^(a+)+$",
    "((a)+)+$",
    "((a+))+$",
    "(a|aa)+$",
    "(ab|cd)+",
    "(x*){2,}",
    "(a+)*",
    "(\\w+\\s?)*$",
    "(?:a+)+",
    "(?<n>a|b)*",
    "(a)\\1",
  ])("refuses %s", (pattern) => {
    expect(backtrackingProblem(pattern)).not.toBeNull();
  });

  it.each([
    "^refs/heads/",
    "^(ab)+$",
    "^(?:ab)+$",
    "(a+)?",
    "[(a+)+]",
    "\\(a+\\)+",
    "^v[0-9]+\\.[0-9]+$",
    "(?=a)b+",
    "^(main|master)$",
  ])("allows %s", (pattern) => {
    expect(backtrackingProblem(pattern)).toBeNull();
  });
});
