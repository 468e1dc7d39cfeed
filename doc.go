// Package hookshot is the vocabulary of Hookshot, a webhook delivery
// service: webhooks registered per study, events published for a study,
// deliveries of one event to one webhook, and the attempts of each delivery.
//
// It declares the Store interface that the storage adapters implement
// (internal/sqlite, internal/postgres) and the errors its methods return,
// and beside it AccountStore: accounts, their API tokens and the audit
// trail, with the roles a Principal carries (SPEC §9).
// Everything that speaks HTTP, SQL or the command line lives elsewhere:
//
//	cmd/hookshot       the binary: settings, wiring, subcommands
//	internal/catalog   event types and their JSON Schemas
//	internal/service   the operations behind the API (and the portal)
//	internal/delivery  the engine: claim, sign, send, record, reschedule
//	internal/api       JSON handlers
//	internal/sqlstore  the Go code both SQL stores share; per engine only the dialect
//	internal/sqlite    Store on SQLite
//	internal/postgres  Store on PostgreSQL
//	internal/storetest the conformance suite both stores pass
//	internal/credential sealing credentials at rest
//	internal/password  argon2id password hashes
//	internal/e2e       end-to-end tests against the real binary
//	webhook            for receivers: verify signatures, answer the handshake
package hookshot
