package core_test
import ("testing";"time";gorilla "github.com/gorilla/websocket")
func TestZZLatency(t *testing.T){
	addr, _ := simpleProxy(t)
	g := dialGorilla(t, "ws://"+addr+"/ws", nil)
	s:=time.Now()
	for i:=0;i<20;i++{ g.WriteMessage(gorilla.TextMessage, []byte("x")); g.ReadMessage() }
	t.Log(time.Since(s)/20)
}
