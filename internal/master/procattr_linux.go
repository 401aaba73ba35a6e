package master

import "syscall"

// sysProcAttr makes the kernel send a worker SIGTERM when its master dies,
// so that workers drain and exit instead of serving on unsupervised.
// Pdeathsig follows the thread that started the worker, which is why Run
// locks its goroutine to one thread.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
