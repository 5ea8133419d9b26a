package store

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds the prepared statements one SQLite connection
// keeps; the statements of a send number about twenty.
const maxCachedStmts = 128

// sqliteConnector opens modernc SQLite connections that keep their
// prepared statements. modernc.org/sqlite compiles the SQL of every
// ExecContext and QueryContext afresh, and compiling is most of the CPU a
// short statement costs; each connection here prepares a statement text
// once and re-binds it after. It covers every caller of the handle,
// River's queries included.
type sqliteConnector struct {
	dsn string
	drv sqlite.Driver
}

// Connect opens one connection.
func (c *sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	ic, ok := conn.(innerConn)
	if !ok {
		return conn, nil
	}
	return &stmtCacheConn{inner: ic, stmts: map[string]*cachedStmt{}}, nil
}

// Driver returns the underlying driver.
func (c *sqliteConnector) Driver() driver.Driver { return &c.drv }

// innerConn is what modernc's connection offers.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is a prepared statement; busy while its rows are open, when
// the statement cannot run again.
type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

// stmtCacheConn is a connection with a statement cache. database/sql uses
// a connection from one goroutine at a time, so it needs no lock.
type stmtCacheConn struct {
	inner innerConn
	stmts map[string]*cachedStmt
}

func (c *stmtCacheConn) conn() innerConn { return c.inner }

// cacheable reports whether a statement is worth keeping: one statement
// (no script) with parameters, so migrations and one-off DDL are left out.
func cacheable(query string, args int) bool {
	if args == 0 {
		return false
	}
	return !strings.Contains(strings.TrimRight(strings.TrimSpace(query), ";"), ";")
}

// prepared returns the cached statement for query, preparing it the first
// time, or nil when the query should run uncached.
func (c *stmtCacheConn) prepared(ctx context.Context, query string, args int) (*cachedStmt, error) {
	if !cacheable(query, args) {
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	ds, err := c.conn().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		_ = ds.Close()
		return nil, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		c.evictIdle()
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

// evictIdle closes the statements not in use.
func (c *stmtCacheConn) evictIdle() {
	for q, s := range c.stmts {
		if !s.busy {
			_ = s.stmt.Close()
			delete(c.stmts, q)
		}
	}
}

// ExecContext runs query through its cached statement.
func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.prepared(ctx, query, len(args))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn().ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

// QueryContext runs query through its cached statement; the statement is
// busy until the rows close.
func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.prepared(ctx, query, len(args))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn().QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// Prepare prepares a statement the caller owns.
func (c *stmtCacheConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

// PrepareContext prepares a statement the caller owns.
func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn().PrepareContext(ctx, query)
}

// Close closes the cached statements and the connection.
func (c *stmtCacheConn) Close() error {
	for q, s := range c.stmts {
		_ = s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.inner.Close()
}

// Begin starts a transaction.
func (c *stmtCacheConn) Begin() (driver.Tx, error) {
	return c.conn().BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction.
func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn().BeginTx(ctx, opts)
}

// Ping checks the connection.
func (c *stmtCacheConn) Ping(ctx context.Context) error { return c.conn().Ping(ctx) }

// ResetSession prepares the connection for reuse.
func (c *stmtCacheConn) ResetSession(ctx context.Context) error { return c.conn().ResetSession(ctx) }

// IsValid reports whether the connection can be reused.
func (c *stmtCacheConn) IsValid() bool { return c.conn().IsValid() }

// cachedRows frees its statement when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

// Close resets the statement for its next use.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

// ColumnTypeDatabaseTypeName passes the column type through.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
