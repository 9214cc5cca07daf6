module github.com/rapyer-go/rapyer

go 1.24

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/gomodule/redigo v1.9.3
	github.com/google/uuid v1.6.0
	github.com/mna/redisc v1.4.0
	github.com/vmihailenco/msgpack/v5 v5.4.1
	github.com/yuin/gopher-lua v1.1.1
)

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
