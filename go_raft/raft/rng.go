package raft

// golden is the SplitMix64 increment, 2^64 divided by the golden ratio.
const golden = 0x9E3779B97F4A7C15

// SplitMix64 is the one pseudo-random generator of the project (Steele, Lea
// and Flood, 2014). Python and Go implement exactly this generator, so that
// the same seed gives the same election timeouts, network delays and fault
// times in both languages. Every draw advances one step.
type SplitMix64 struct {
	state uint64
}

// NewSplitMix64 returns a generator seeded with seed.
func NewSplitMix64(seed uint64) *SplitMix64 {
	return &SplitMix64{state: seed}
}

// NextU64 returns the next 64 random bits.
func (r *SplitMix64) NextU64() uint64 {
	r.state += golden
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// UniformInt returns an integer in [lo, hi], both ends included. The modulo
// bias is below 2^-40 for our ranges, and a plain modulo matches Python exactly.
func (r *SplitMix64) UniformInt(lo, hi int64) int64 {
	if lo > hi {
		panic("raft: UniformInt with lo > hi")
	}
	return lo + int64(r.NextU64()%uint64(hi-lo+1))
}

// Random returns a float64 in [0, 1) built from the top 53 bits.
func (r *SplitMix64) Random() float64 {
	return float64(r.NextU64()>>11) * (1.0 / (1 << 53))
}

// DeriveSeed gives an independent seed for one stream (a node, the network...).
func DeriveSeed(seed, stream uint64) uint64 {
	return NewSplitMix64(seed ^ (stream * golden)).NextU64()
}
