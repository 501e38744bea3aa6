using System.Diagnostics;

namespace HyperSharp.Cli;

/// <summary>
/// A one-line progress bar on stderr for long operations, redrawn at most ten times a second.
/// Silent when stderr is not a terminal. Reports may come from several threads and out of order.
/// </summary>
public sealed class ProgressBar : IProgress<long>, IDisposable
{
    private readonly TextWriter? _writer;
    private readonly long _total;
    private readonly string _label;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _lock = new();
    private long _done;
    private long _lastDrawMs = -1000;
    private bool _finished;

    public ProgressBar(CliContext context, string label, long total)
    {
        _writer = context.ShowProgress ? context.Error : null;
        _label = label;
        _total = Math.Max(total, 1);
    }

    public void Report(long value)
    {
        if (_writer is null) return;
        lock (_lock)
        {
            if (_finished || value <= _done) return;
            _done = value;
            long now = _clock.ElapsedMilliseconds;
            if (now - _lastDrawMs < 100 && value < _total) return;
            _lastDrawMs = now;
            Draw();
        }
    }

    private void Draw()
    {
        const int width = 30;
        double fraction = Math.Min(1.0, (double)_done / _total);
        int filled = (int)(fraction * width);
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        string rate = SizeParser.Format((long)(_done / seconds)) + "/s";
        _writer!.Write($"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {fraction * 100,3:0}% {SizeParser.Format(_done)} of {SizeParser.Format(_total)}, {rate}   ");
        _writer.Flush();
    }

    public void Dispose()
    {
        if (_writer is null) return;
        lock (_lock)
        {
            if (_finished) return;
            _finished = true;
            if (_done > 0) _writer.WriteLine(); // leave the finished bar on its own line
        }
    }
}
