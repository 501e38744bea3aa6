using System.Net.Sockets;
using System.Net.WebSockets;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Workers;
using Microsoft.AspNetCore.Http;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Web.Live;

/// <summary>
/// GET /vms/ID/console as a WebSocket: the VM's serial console, bridged to its worker's console stream the way
/// `hyper vm console` is bridged through the gRPC service (the worker's backlog first, then live output; the
/// browser's key strokes in as binary messages).
/// </summary>
internal static class ConsoleSocket
{
    public static async Task ServeAsync(HttpContext context, ManagedVm vm)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("the console is a WebSocket: open it from the VM's page\n").ConfigureAwait(false);
            return;
        }
        if (vm.State is not (PowerState.Running or PowerState.Paused))
        {
            context.Response.StatusCode = StatusCodes.Status409Conflict;
            await context.Response.WriteAsync(HostErrors.WrongState(vm.Name, vm.State, "attach to the console of").Message + "\n").ConfigureAwait(false);
            return;
        }
        Socket worker;
        try { worker = await vm.Worker.OpenConsoleAsync(context.RequestAborted).ConfigureAwait(false); }
        catch (WorkerException e)
        {
            context.Response.StatusCode = StatusCodes.Status409Conflict;
            await context.Response.WriteAsync($"VM '{vm.Name}': {e.Message}\n").ConfigureAwait(false);
            return;
        }
        using (worker)
        using (var browser = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false))
        using (var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            var input = Task.Run(() => InputAsync(browser, worker, done));
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await worker.ReceiveAsync(buffer, SocketFlags.None, done.Token).ConfigureAwait(false)) > 0)
                    await browser.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, true, done.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or WebSocketException) { }
            await done.CancelAsync().ConfigureAwait(false);
            await input.ConfigureAwait(false);
            if (browser.State == WebSocketState.Open)
                try { await browser.CloseAsync(WebSocketCloseStatus.NormalClosure, "the VM's console ended", CancellationToken.None).ConfigureAwait(false); }
                catch (WebSocketException) { }
        }
    }

    private static async Task InputAsync(WebSocket browser, Socket worker, CancellationTokenSource done)
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var message = await browser.ReceiveAsync(buffer.AsMemory(), done.Token).ConfigureAwait(false);
                if (message.MessageType == WebSocketMessageType.Close) break;
                await worker.SendAsync(buffer.AsMemory(0, message.Count), SocketFlags.None, done.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or WebSocketException) { }
        finally { await done.CancelAsync().ConfigureAwait(false); }
    }
}
