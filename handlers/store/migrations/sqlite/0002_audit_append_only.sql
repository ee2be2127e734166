-- The audit log is append-only at the database. The one exception is the retention job: inside
-- its transaction it writes a cutoff into this one-row gate, deletes rows older than the cutoff
-- and clears the gate again. The trigger additionally refuses any row younger than seven years
-- by the database clock (one day of slack for clock and format differences), so even an open
-- gate cannot delete recent history.
CREATE TABLE audit_retention_gate (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cutoff TEXT
);
INSERT INTO audit_retention_gate (id, cutoff) VALUES (1, NULL);

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
WHEN (SELECT cutoff FROM audit_retention_gate WHERE id = 1) IS NULL
  OR OLD.occurred_at >= (SELECT cutoff FROM audit_retention_gate WHERE id = 1)
  OR OLD.occurred_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-7 years', '+1 day')
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE refused');
END;
