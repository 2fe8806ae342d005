package timeq

import (
	"math/rand/v2"
	"testing"
)

// The queue pops by (due, push order), across chunks, and gives its chunks
// back as it empties. The seed is fixed; a failure names the pop.
func TestOrderAndChunks(t *testing.T) {
	var q Queue[int]
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3*chunkLen + 17
	for i := range n {
		q.Push(int64(rng.IntN(100)), i)
	}
	if len(q.chunks) != 4 {
		t.Fatalf("%d chunks for %d items", len(q.chunks), n)
	}
	prevDue, prev := int64(-1), -1
	for i := range n {
		if head := q.Head(); i < n && head < prevDue {
			t.Fatalf("pop %d: head %d after %d", i, head, prevDue)
		}
		due, item := q.Pop()
		if due < prevDue || (due == prevDue && item < prev) {
			t.Fatalf("pop %d: (%d, %d) after (%d, %d)", i, due, item, prevDue, prev)
		}
		prevDue, prev = due, item
	}
	if q.Len() != 0 || len(q.chunks) > 1 {
		t.Fatalf("empty queue: len %d, %d chunks", q.Len(), len(q.chunks))
	}
}
