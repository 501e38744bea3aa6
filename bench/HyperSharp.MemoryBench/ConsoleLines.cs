using System.Text;

/// <summary>A guest console read line by line; waits for the first line holding a marker.</summary>
internal sealed class ConsoleLines
{
    private readonly StringBuilder _line = new();
    private readonly List<string> _lines = [];
    private readonly object _lock = new(); // Monitor: waiters sleep on it until a line arrives

    public void Append(byte b)
    {
        lock (_lock)
        {
            if (b == '\n') { _lines.Add(_line.ToString().TrimEnd('\r')); _line.Clear(); Monitor.PulseAll(_lock); }
            else _line.Append((char)b);
        }
    }

    public void AppendLine(string line)
    {
        lock (_lock) { _lines.Add(line); Monitor.PulseAll(_lock); }
    }

    public string WaitFor(string marker, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            int seen = 0;
            while (true)
            {
                for (; seen < _lines.Count; seen++) if (_lines[seen].Contains(marker)) return _lines[seen];
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"no '{marker}' within {timeout.TotalSeconds:0} s; last lines:\n{string.Join('\n', _lines.TakeLast(20))}");
                Monitor.Wait(_lock, left);
            }
        }
    }
}
