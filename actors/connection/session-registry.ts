// Which live session holds which student, and which sessions belong to which exam, inside one
// connection actor. Replacement across actors and processes arrives through Redis pub/sub.

import { sessionKey, type StudentSession } from './student-session.js';

export class SessionRegistry {
  private readonly byStudent = new Map<string, StudentSession>();
  private readonly byExam = new Map<string, Set<StudentSession>>();

  /** Registers a newly claimed session; returns the older local session it supersedes, if any. */
  claim(session: StudentSession): StudentSession | undefined {
    const previous = this.byStudent.get(session.key);
    if (previous !== undefined && previous !== session) this.remove(previous);
    this.byStudent.set(session.key, session);
    let sessions = this.byExam.get(session.exam);
    if (sessions === undefined) {
      sessions = new Set();
      this.byExam.set(session.exam, sessions);
    }
    sessions.add(session);
    return previous === session ? undefined : previous;
  }

  remove(session: StudentSession): void {
    if (this.byStudent.get(session.key) === session) this.byStudent.delete(session.key);
    const sessions = this.byExam.get(session.exam);
    if (sessions !== undefined && sessions.delete(session) && sessions.size === 0) this.byExam.delete(session.exam);
  }

  /** The local session of that student if a newer epoch than its own was granted elsewhere. */
  supersededBy(exam: string, student: string, epoch: number): StudentSession | undefined {
    const session = this.byStudent.get(sessionKey(exam, student));
    return session !== undefined && session.epoch < epoch ? session : undefined;
  }

  ofExam(exam: string): Iterable<StudentSession> {
    return this.byExam.get(exam) ?? [];
  }
}
