using System.Text;
using Grpc.Core;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Tests.Migration;

/// <summary>
/// A VM's console on one host, read from the worker's backlog on until the worker ends (its console closes): everything one
/// incarnation of a moving VM printed. Waits are for what the text shows, never fixed.
/// </summary>
public sealed class ConsoleTap
{
    private readonly StringBuilder _text = new();
    private readonly SemaphoreSlim _changed = new(0);

    private ConsoleTap() { }

    public string Text { get { lock (_text) return _text.ToString(); } }

    /// <summary>Completes when the console closes (the worker ended) or the patience ran out.</summary>
    public Task Ended { get; private set; } = Task.CompletedTask;

    public static ConsoleTap Attach(VmHost.VmHostClient client, string vm, TimeSpan patience)
    {
        var tap = new ConsoleTap();
        tap.Ended = Task.Run(async () =>
        {
            using var cancel = new CancellationTokenSource(patience);
            using var call = client.AttachConsole(cancellationToken: cancel.Token);
            await call.RequestStream.WriteAsync(new ConsoleInput { Vm = new VmRef { Name = vm } });
            try
            {
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancel.Token))
                {
                    lock (tap._text) tap._text.Append(Encoding.ASCII.GetString(chunk.Data.Span));
                    tap._changed.Release();
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled) { }
            catch (OperationCanceledException) { }
            finally { tap._changed.Release(); }
        });
        return tap;
    }

    /// <summary>Waits until the text satisfies <paramref name="condition"/>; fails with the text when the console ends or time runs out first.</summary>
    public async Task WaitForAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Text))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || Ended.IsCompleted && !condition(Text))
                Assert.Fail($"the console never showed {what} (it {(Ended.IsCompleted ? "closed" : "stayed open")}): ...{Tail(Text)}");
            await _changed.WaitAsync(left);
        }
    }

    private static string Tail(string text) => text.Length > 300 ? text[^300..] : text;
}
