package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Wakeups listens for deliveries that other processes (and this one) made
// due: publishes, resends and validations. It holds one connection of its
// own, outside the pool, for as long as ctx lives and the store is open;
// the channel is closed when either ends.
//
// The channel holds at most one value and sends never block: a burst of
// notifications while the receiver is busy is one wakeup, which is all a
// claim loop needs. When the connection drops, Wakeups reconnects with
// backoff and then sends a wakeup, since notifications sent meanwhile were
// lost. It fails only when the first connection cannot be made.
func (s *Store) Wakeups(ctx context.Context) (<-chan struct{}, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closed, cancel)
	conn, err := s.listen(ctx)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	ch := make(chan struct{}, 1)
	s.listeners.Add(1)
	go func() {
		defer s.listeners.Done()
		defer stop()
		defer cancel()
		defer close(ch)
		s.forward(ctx, conn, ch)
	}()
	return ch, nil
}

func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting to listen for wakeups: %w", err)
	}
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL, notifyChannel).Scan(&channel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: naming the wakeup channel: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listening for wakeups: %w", err)
	}
	return conn, nil
}

// forward passes notifications on until ctx ends, reconnecting as needed.
func (s *Store) forward(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) {
	wake := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for {
		_, err := conn.WaitForNotification(ctx)
		if err == nil {
			wake()
			continue
		}
		// Closing with a fresh context: ctx may be the reason we are here.
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = s.listen(ctx); err == nil {
				break
			}
		}
		wake()
	}
}
