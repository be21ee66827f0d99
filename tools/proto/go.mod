module github.com/microlb/microlb/tools/proto

go 1.26

tool (
	github.com/asim/go-micro/cmd/protoc-gen-micro/v3
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	github.com/asim/go-micro/cmd/protoc-gen-micro/v3 v3.7.0 // indirect
	google.golang.org/genproto v0.0.0-20210821163610-241b8fcbd6c8 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
