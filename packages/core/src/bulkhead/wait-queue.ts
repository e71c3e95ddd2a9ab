/** A node of a `WaitQueue`; the queue links it in place, so removal from the middle is O(1). */
export interface WaitQueueNode {
  prev: WaitQueueNode | undefined;
  next: WaitQueueNode | undefined;
  queued: boolean;
}

/** A FIFO queue of waiting callers that one can leave from anywhere (abort, timeout) in O(1). */
export class WaitQueue<N extends WaitQueueNode> {
  private head: N | undefined;
  private tail: N | undefined;
  size = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    node.queued = true;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  /** Takes the oldest node out, or undefined when empty. */
  shift(): N | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Takes `node` out; false when it was not queued. */
  remove(node: N): boolean {
    if (!node.queued) return false;
    node.queued = false;
    if (node.prev === undefined) this.head = node.next as N | undefined;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev as N | undefined;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.size--;
    return true;
  }
}
