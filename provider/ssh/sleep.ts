/** Resolves after `ms` milliseconds: the one pause of the provider's polls and retries. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
