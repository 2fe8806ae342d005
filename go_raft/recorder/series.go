package recorder

import "iter"

// seriesChunk is how many values one chunk of a Series holds.
const seriesChunk = 1 << 16

// Series keeps raw values, for their percentiles, in chunks: a long run's
// millions of values grow one chunk at a time, and are never copied into an
// array 1.25 times as large. (A saturated 60-second run acknowledges 8
// million commands; copying their latencies held over twice their size at
// once, and the run's peak resident set passed 300 MB.) Its zero value is empty.
type Series struct{ chunks [][]int64 }

// Add appends v.
func (s *Series) Add(v int64) {
	n := len(s.chunks)
	if n == 0 || len(s.chunks[n-1]) >= seriesChunk {
		s.chunks = append(s.chunks, nil)
		n++
	}
	s.chunks[n-1] = append(s.chunks[n-1], v)
}

// Len is how many values s holds.
func (s *Series) Len() int {
	n := 0
	for _, c := range s.chunks {
		n += len(c)
	}
	return n
}

// All yields every value, in the order added.
func (s *Series) All() iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for _, c := range s.chunks {
			for _, v := range c {
				if !yield(v) {
					return
				}
			}
		}
	}
}
