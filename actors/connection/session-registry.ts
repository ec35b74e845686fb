// Which live session holds which student, and which sessions belong to which exam, inside one
// connection actor; and the sessions still being claimed, so no announcement is missed meanwhile.

import { sessionKey, type StudentSession } from './student-session.js';

export class SessionRegistry {
  private readonly byStudent = new Map<string, StudentSession>();
  private readonly byExam = new Map<string, Set<StudentSession>>();
  /**
   * Sessions whose claim is in Redis now. A replacement announcement travels on the subscriber's
   * connection, the claim's reply on another, so the announcement of a newer session can arrive
   * first: it is kept on the claiming session and looked at when the reply comes.
   */
  private readonly claiming = new Map<string, Set<StudentSession>>();

  beginClaim(session: StudentSession): void {
    let sessions = this.claiming.get(session.key);
    if (sessions === undefined) {
      sessions = new Set();
      this.claiming.set(session.key, sessions);
    }
    sessions.add(session);
  }

  endClaim(session: StudentSession): void {
    const sessions = this.claiming.get(session.key);
    if (sessions !== undefined && sessions.delete(session) && sessions.size === 0) this.claiming.delete(session.key);
  }

  /**
   * Registers a newly claimed session. Returns the older local session it supersedes, if any; or
   * `this session` itself when the local one is newer (its claim ran later in Redis), which then loses.
   */
  claim(session: StudentSession): StudentSession | undefined {
    const previous = this.byStudent.get(session.key);
    if (previous === session) return undefined;
    if (previous !== undefined && previous.epoch > session.epoch) return session;
    if (previous !== undefined) this.remove(previous);
    this.byStudent.set(session.key, session);
    let sessions = this.byExam.get(session.exam);
    if (sessions === undefined) {
      sessions = new Set();
      this.byExam.set(session.exam, sessions);
    }
    sessions.add(session);
    return previous;
  }

  remove(session: StudentSession): void {
    this.endClaim(session);
    if (this.byStudent.get(session.key) === session) this.byStudent.delete(session.key);
    const sessions = this.byExam.get(session.exam);
    if (sessions !== undefined && sessions.delete(session) && sessions.size === 0) this.byExam.delete(session.exam);
  }

  /**
   * A session of that student with `epoch` went live somewhere. Returns the local live session
   * it supersedes, if any; claiming sessions remember the epoch for when their reply comes.
   */
  announced(exam: string, student: string, epoch: number): StudentSession | undefined {
    const key = sessionKey(exam, student);
    for (const session of this.claiming.get(key) ?? []) {
      if (epoch > session.newerEpochSeen) session.newerEpochSeen = epoch;
    }
    const session = this.byStudent.get(key);
    return session !== undefined && session.epoch < epoch ? session : undefined;
  }

  ofExam(exam: string): Iterable<StudentSession> {
    return this.byExam.get(exam) ?? [];
  }

  /** Every live (welcomed, not superseded) session. */
  live(): IterableIterator<StudentSession> {
    return this.byStudent.values();
  }
}
