// Package timeq is a queue of items by due time, items of equal time in the
// order they were pushed: the simulator's events and the goroutine runtime's
// messages in flight. Both simulators pop in the same order, which is what
// makes their traces byte-identical.
package timeq

// Queue is a binary min-heap by (due, push order); its zero value is empty.
// Its array is kept in chunks, not one slice: in an election storm it holds
// tens of millions of messages, and a slice that large grows by
// reallocating hundreds of megabytes at once, a step in the resident set
// that would take the watchdog by surprise.
type Queue[T any] struct {
	chunks [][]entry[T]
	n      int
	pushed int64
}

type entry[T any] struct {
	due, seq int64
	item     T
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
)

func (q *Queue[T]) at(i int) *entry[T] { return &q.chunks[i>>chunkBits][i&(chunkLen-1)] }

func (q *Queue[T]) less(i, j int) bool {
	a, b := q.at(i), q.at(j)
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

func (q *Queue[T]) swap(i, j int) {
	a, b := q.at(i), q.at(j)
	*a, *b = *b, *a
}

// Len is how many items are queued.
func (q *Queue[T]) Len() int { return q.n }

// Head is the earliest due time; the queue must not be empty.
func (q *Queue[T]) Head() int64 { return q.at(0).due }

// Push queues item, due at due.
func (q *Queue[T]) Push(due int64, item T) {
	if q.n == len(q.chunks)*chunkLen {
		q.chunks = append(q.chunks, make([]entry[T], chunkLen))
	}
	*q.at(q.n) = entry[T]{due, q.pushed, item}
	q.pushed++
	for i := q.n; i > 0 && q.less(i, (i-1)/2); i = (i - 1) / 2 {
		q.swap(i, (i-1)/2)
	}
	q.n++
}

// Pop removes the earliest item; the queue must not be empty.
func (q *Queue[T]) Pop() (due int64, item T) {
	head := *q.at(0)
	q.n--
	q.swap(0, q.n)
	*q.at(q.n) = entry[T]{} // let the item be collected
	for i := 0; 2*i+1 < q.n; {
		c := 2*i + 1
		if c+1 < q.n && q.less(c+1, c) {
			c++
		}
		if !q.less(c, i) {
			break
		}
		q.swap(i, c)
		i = c
	}
	if len(q.chunks)-(q.n+chunkLen-1)/chunkLen > 1 { // one empty chunk stays in reserve
		q.chunks[len(q.chunks)-1] = nil
		q.chunks = q.chunks[:len(q.chunks)-1]
	}
	return head.due, head.item
}
