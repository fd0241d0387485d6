import type { NotifierType } from "./rulebook.js";
import { asText } from "./expressions.js";

/**
 * The JSON body each chat or paging service's incoming webhook expects, from a notify action's
 * evaluated fields. Facts: Slack incoming webhooks (`text`, `blocks`), Discord webhooks
 * (`content`, `embeds`), Microsoft Teams workflows / connectors (a message with an Adaptive Card
 * attachment), PagerDuty Events API v2 (`routing_key`, `event_action`, `payload`).
 */
export function notifyBody(
  type: NotifierType,
  fields: Record<string, unknown>,
  routingKey: string | null,
): Record<string, unknown> {
  const text = (key: string) => (fields[key] === undefined ? undefined : asText(fields[key]));
  switch (type) {
    case "slack":
      return compact({
        text: text("text"),
        blocks: fields["blocks"],
        username: text("username"),
        icon_emoji: text("icon_emoji"),
      });
    case "discord":
      // Discord refuses content over 2,000 characters.
      return compact({
        content: text("text")?.slice(0, 2000),
        embeds: fields["embeds"],
        username: text("username"),
      });
    case "teams": {
      const title = text("title");
      return {
        type: "message",
        attachments: [
          {
            contentType: "application/vnd.microsoft.card.adaptive",
            contentUrl: null,
            content: {
              $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
              type: "AdaptiveCard",
              version: "1.4",
              body: [
                ...(title === undefined
                  ? []
                  : [
                      {
                        type: "TextBlock",
                        text: title,
                        weight: "Bolder",
                        size: "Medium",
                        wrap: true,
                      },
                    ]),
                { type: "TextBlock", text: text("text") ?? "", wrap: true },
              ],
            },
          },
        ],
      };
    }
    case "pagerduty": {
      const action = text("action") ?? "trigger";
      const body: Record<string, unknown> = compact({
        routing_key: routingKey,
        event_action: action,
        dedup_key: text("dedupKey"),
      });
      if (action === "trigger") {
        // PagerDuty caps the summary at 1,024 characters.
        body["payload"] = compact({
          summary: text("summary")?.slice(0, 1024),
          source: text("source") ?? "hookyard",
          severity: text("severity") ?? "error",
          component: text("component"),
          group: text("group"),
          class: text("class"),
          custom_details: fields["details"],
        });
      }
      return body;
    }
  }
}

export const PAGERDUTY_SEVERITIES = ["critical", "error", "warning", "info"] as const;

function compact(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
