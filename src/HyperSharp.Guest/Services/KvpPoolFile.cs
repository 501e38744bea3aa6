using System.Text;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// A KVP pool on the guest's disk in the layout Linux's hv_kvp_daemon uses (/var/lib/hyperv/.kvp_pool_N: records of
/// a 512-byte key and a 2048-byte value, NUL-padded), so guest tools written for Hyper-V read and write the same
/// files. Rewritten whole through a temporary file and a rename.
/// </summary>
internal sealed class KvpPoolFile(string directory, KvpPool pool)
{
    private const int RecordSize = KvpLimits.MaxKeyBytes + KvpLimits.MaxValueBytes;

    public string Path { get; } = System.IO.Path.Combine(directory, $".kvp_pool_{(int)pool}");

    public List<KvpItem> Read()
    {
        var items = new List<KvpItem>();
        if (!File.Exists(Path)) return items;
        var bytes = File.ReadAllBytes(Path);
        for (int at = 0; at + RecordSize <= bytes.Length && items.Count < KvpLimits.MaxItemsPerPool; at += RecordSize)
        {
            string key = Text(bytes.AsSpan(at, KvpLimits.MaxKeyBytes));
            if (key.Length > 0) items.Add(new KvpItem(key, Text(bytes.AsSpan(at + KvpLimits.MaxKeyBytes, KvpLimits.MaxValueBytes))));
        }
        return items;
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    public void Write(IReadOnlyList<KvpItem> items)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var bytes = new byte[items.Count * RecordSize];
        for (int i = 0; i < items.Count; i++)
        {
            Encoding.UTF8.GetBytes(items[i].Key, bytes.AsSpan(i * RecordSize, KvpLimits.MaxKeyBytes));
            Encoding.UTF8.GetBytes(items[i].Value, bytes.AsSpan(i * RecordSize + KvpLimits.MaxKeyBytes, KvpLimits.MaxValueBytes));
        }
        string temp = Path + ".new";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, Path, overwrite: true);
    }
}
