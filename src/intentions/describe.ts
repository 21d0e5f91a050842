/** Consul's Intention.String(): `ALLOW default/web => default/db (ID: …)`, used in messages and reasons. */
export function describeIntention(x: {
  readonly Action: string;
  readonly SourceNS: string;
  readonly SourceName: string;
  readonly DestinationNS: string;
  readonly DestinationName: string;
  readonly ID: string;
}): string {
  return `${x.Action.toUpperCase()} ${x.SourceNS}/${x.SourceName} => ${x.DestinationNS}/${x.DestinationName} (ID: ${x.ID})`;
}
