using System.Diagnostics;
using System.Text;

namespace HyperSharp.HostBench;

/// <summary>QEMU's software CPU (TCG) on the same guest, for the side-by-side figures.</summary>
public static class Qemu
{
    /// <summary>
    /// Starts qemu-system-x86_64 with <paramref name="guestArgs"/>, waits for <paramref name="marker"/> on its
    /// serial console, measures its memory, and kills it by its PID.
    /// </summary>
    public static async Task<(double Seconds, (long ResidentBytes, long OverheadBytes) Memory)> RunUntilAsync(string qemu, long ramBytes, string marker, string[] guestArgs)
    {
        var start = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
        foreach (string a in (string[])["-accel", "tcg", "-M", "q35", "-cpu", "qemu64", "-m", $"{ramBytes >> 20}", "-nodefaults", "-nographic", "-serial", "stdio", "-no-reboot", .. guestArgs])
            start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {qemu}");
        try
        {
            var seen = new StringBuilder();
            var buffer = new char[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
            while (!seen.ToString().Contains(marker, StringComparison.Ordinal))
            {
                int n = await process.StandardOutput.ReadAsync(buffer, timeout.Token);
                if (n == 0) throw new InvalidOperationException($"QEMU ended before '{marker}': {await process.StandardError.ReadToEndAsync()}");
                seen.Append(buffer, 0, n);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            await Task.Delay(500); // like the workers: measured once settled
            return (seconds, ProcessMemory.Measure(process.Id, ramBytes));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
