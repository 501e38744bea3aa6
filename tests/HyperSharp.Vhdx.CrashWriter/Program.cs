using System.Buffers.Binary;
using HyperSharp.Vhdx;
using HyperSharp.Vhdx.CrashWriter;

// Usage: CrashWriter <image> <journal> <seed> <generationBase> <flushEvery> <unmapPercent>
//    or: CrashWriter <image> <journal> resize <seed>   (see ResizeWorkload)
// Opens the image, prints "ready", then runs the workload forever (until SIGKILL). After every
// Flush that returns, appends the index of the last operation it covers (8 bytes, little-endian)
// to the journal and fsyncs it: everything up to that index is acknowledged as durable.
if (args.Length == 4 && args[2] == "resize") return ResizeWorkload.Run(args[0], args[1], ulong.Parse(args[3]));
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: CrashWriter <image> <journal> <seed> <generationBase> <flushEvery> <unmapPercent>");
    return 2;
}
string image = args[0], journalPath = args[1];
ulong seed = ulong.Parse(args[2]);
long generationBase = long.Parse(args[3]);
int flushEvery = int.Parse(args[4]), unmapPercent = int.Parse(args[5]);

using var disk = (HyperSharp.Vhdx.Vhdx.VhdxDisk)VirtualDisk.Open(image);
var workload = new CrashWorkload(seed, disk.Capacity, disk.LogicalSectorSize, disk.BlockSize, generationBase, unmapPercent);
using var journal = File.OpenHandle(journalPath, FileMode.Create, FileAccess.Write, FileShare.Read);
long journalLength = 0;
var record = new byte[8];
var buffer = new byte[1 << 20];
Console.Out.WriteLine("ready");
Console.Out.Flush();
for (long n = 1; ; n++)
{
    var op = workload.Next();
    if (op.IsUnmap) disk.Unmap(op.Offset, op.Length);
    else
    {
        var data = buffer.AsSpan(0, op.Length);
        CrashWorkload.Fill(data, op.Offset, disk.LogicalSectorSize, op.Generation);
        disk.Write(op.Offset, data);
    }
    if (n % flushEvery == 0)
    {
        disk.Flush();
        BinaryPrimitives.WriteInt64LittleEndian(record, op.Index);
        RandomAccess.Write(journal, record, journalLength);
        journalLength += 8;
        RandomAccess.FlushToDisk(journal);
    }
}
