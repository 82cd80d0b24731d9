module github.com/edgecanary/sample-app

go 1.19
