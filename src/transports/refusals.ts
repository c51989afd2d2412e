/** Requests and connections refused, by reason. */
export const REFUSALS = ['unauthorized', 'forbidden', 'origin', 'host', 'connections', 'subscriptions', 'messageRate', 'rateClosed', 'httpRate'] as const;
export type Refusal = (typeof REFUSALS)[number];
