using System.Text;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// A guest's serial console as a test reads it: every byte kept, and waits for a marker that complete when the line
/// holding it arrives (the guest says what happened; nothing polls). A wait that times out, or a VM that stops first,
/// fails with the console so far in the message.
/// </summary>
public sealed class GuestConsole
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _line = new();
    private readonly List<(string Marker, TaskCompletionSource<string> Line)> _waiters = [];
    private readonly object _lock = new();

    public void Append(byte b)
    {
        lock (_lock)
        {
            _text.Append((char)b);
            if (b != '\n') { _line.Append((char)b); return; }
            string line = _line.ToString();
            _line.Clear();
            for (int i = _waiters.Count - 1; i >= 0; i--)
                if (line.Contains(_waiters[i].Marker)) { _waiters[i].Line.TrySetResult(line.TrimEnd('\r')); _waiters.RemoveAt(i); }
        }
    }

    public string Text { get { lock (_lock) return _text.ToString(); } }

    /// <summary>The first line (already printed or still to come) holding <paramref name="marker"/>.</summary>
    public async Task<string> WaitFor(string marker, TimeSpan timeout, Task vmRun)
    {
        TaskCompletionSource<string> line;
        lock (_lock)
        {
            var lines = _text.ToString().Split('\n');
            for (int i = 0; i < lines.Length - 1; i++) // the last piece is a line still being printed
                if (lines[i].Contains(marker)) return lines[i].TrimEnd('\r');
            line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((marker, line));
        }
        var first = await Task.WhenAny(line.Task, vmRun, Task.Delay(timeout));
        // The line's continuations run asynchronously, the VM's do not: a guest that prints its last line and powers off
        // can finish vmRun first in WhenAny though the line came first. The line, once there, is the answer.
        if (line.Task.IsCompleted) return await line.Task;
        string why = first == vmRun ? "the VM stopped" : $"{timeout.TotalSeconds:0} s passed";
        string text = Text;
        throw new TimeoutException($"waiting for '{marker}': {why}; console (last 6000 characters):\n{text[Math.Max(0, text.Length - 6000)..]}");
    }
}
