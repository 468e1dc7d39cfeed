package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err is PostgreSQL failing rather than the
// statement: no connection could be made (refused, authentication, no
// such database: this process cannot reach its data either way), the
// connection broke, or the server refused for a reason of its own that
// passes (see unavailableState).
func (*engine) Unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return unavailableState(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The server went away mid-conversation (a restart, a crash).
		return true
	case pgconn.Timeout(err) && !errors.Is(err, context.Canceled):
		return true
	}
	return false
}

// unavailableState reports whether a SQLSTATE says the server cannot do
// the work now, whatever the statement: class 08 (connection exception),
// 53 (insufficient resources: 53100 disk full, 53200 out of memory, 53300
// too many connections), 58 (system error: 58030 I/O error), 57P01-57P03
// (administrator or crash shutdown, cannot connect now), 25006 (read-only
// transaction: default_transaction_read_only, a hot standby) and 25P03
// (idle-in-transaction timeout).
func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "58"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "25006", "25P03":
		return true
	}
	return false
}
