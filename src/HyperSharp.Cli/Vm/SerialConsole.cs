using System.Diagnostics;
using HyperSharp.Machine.Devices.Serial;

namespace HyperSharp.Cli.Vm;

/// <summary>
/// Connects the guest's COM1 to this terminal: guest output to stdout as it comes, keyboard input
/// to the UART (the terminal in raw mode while the VM runs). Ctrl-] stops the VM.
/// </summary>
internal sealed class SerialConsole : IDisposable
{
    private const byte EscapeKey = 0x1D; // Ctrl-]
    private readonly Stream _stdout = Console.OpenStandardOutput();
    private readonly bool _rawTerminal;

    public SerialConsole()
    {
        _rawTerminal = !Console.IsInputRedirected && Stty("raw -echo");
    }

    public void Output(byte b)
    {
        _stdout.WriteByte(b);
        if (b == '\n' || _rawTerminal) _stdout.Flush();
    }

    /// <summary>Feeds stdin to the UART on a background thread until EOF or Ctrl-]; calls <paramref name="escape"/> for the latter.</summary>
    public void PumpInput(Serial16550 uart, Action escape)
    {
        var thread = new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            int n;
            while ((n = stdin.Read(buffer, 0, buffer.Length)) > 0)
            {
                int stop = Array.IndexOf(buffer, EscapeKey, 0, n);
                var chunk = buffer.AsSpan(0, stop >= 0 ? stop : n);
                while (!chunk.IsEmpty)
                {
                    int taken = uart.Receive(chunk);
                    chunk = chunk[taken..];
                    if (!chunk.IsEmpty) Thread.Sleep(5); // the guest reads slower than we type: wait, do not drop
                }
                if (stop >= 0) { escape(); return; }
            }
        }) { IsBackground = true, Name = "console-input" };
        thread.Start();
    }

    internal static bool Stty(string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("stty", args) { UseShellExecute = false });
            p!.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public void Dispose()
    {
        _stdout.Flush();
        if (_rawTerminal) Stty("sane");
    }
}
