namespace Emulated.CpuBench;

/// <summary>The guest workload written in C#: its hash must equal the guest's, a whole-program correctness check.</summary>
internal static class ReferenceWorkload
{
    public static ulong Run(int rounds)
    {
        var arr = new ulong[GuestWorkload.Elements];
        ulong x = 0x9E3779B97F4A7C15UL, h = 0xCBF29CE484222325UL;
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < arr.Length; i++)
            {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                arr[i] = x;
            }
            for (int i = 1; i < arr.Length; i++)
            {
                ulong v = arr[i];
                int j = i;
                while (j > 0 && arr[j - 1] > v) { arr[j] = arr[j - 1]; j--; }
                arr[j] = v;
            }
            foreach (ulong e in arr)
                for (int b = 0; b < 8; b++) { h ^= (e >> (b * 8)) & 0xFF; h *= 0x100000001B3UL; }
        }
        return h;
    }
}
