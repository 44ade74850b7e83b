/**
 * Work allowed per turn of the event loop: what is charged in a turn counts
 * until the turn ends (a `setImmediate` resets it). Callers whose awaits
 * resolve at once (a stream write with credit to spare, a socket with more
 * datagrams waiting) check it so that timers and I/O still get in between.
 */
class TurnBudget {
  protected spent = 0;
  protected resetScheduled = false;
  protected nextTurnP?: Promise<void>;

  public constructor(protected perTurn: number) {}

  /** Whether this turn's budget is spent. */
  public get exhausted(): boolean {
    return this.spent >= this.perTurn;
  }

  /** Counts `amount` against this turn. */
  public charge(amount: number): void {
    this.spent += amount;
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.resetScheduled = false;
        this.spent = 0;
      });
    }
  }

  /** Charges `amount` at once while this turn has budget left (undefined), else at the next turn. */
  public take(amount: number): Promise<void> | undefined {
    if (this.exhausted) {
      return (this.nextTurnP ??= new Promise<void>((resolve) =>
        setImmediate(() => {
          this.nextTurnP = undefined;
          this.spent = 0;
          resolve();
        }),
      )).then(() => this.take(amount));
    }
    this.charge(amount);
    return undefined;
  }
}

export default TurnBudget;
