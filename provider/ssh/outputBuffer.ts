/** A bounded buffer for a command's output stream. */

/**
 * Keeps at most `cap` bytes of a stream: the most recent ones, since a tool says why it failed at the end.
 */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** True once bytes were dropped from the beginning. */
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.cap) this.dropFromFront(this.size - this.cap);
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString("utf8");
  }

  private dropFromFront(excess: number): void {
    this.truncated = true;
    const first = this.chunks[0];
    if (first.length <= excess) {
      this.chunks.shift();
      this.size -= first.length;
    } else {
      this.chunks[0] = first.subarray(excess);
      this.size -= excess;
    }
  }
}
