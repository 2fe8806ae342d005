module raftbench/go_raft

go 1.24
