// A stand-in for the generated AcceleratorTop, with its exact ports and register map
// (docs/control.md), so the harness can be tested before the real top exists. It executes only
// copy passes (op 2) without residual and without fill (the region lies inside the image): fetch the
// record, issue the pixel read and the output write commands, and stream the beats through a
// 4-entry FIFO, bytes at and above inChunk replaced by fillValue. Anything else stops the run with
// STATUS.error, as the real top does for a bad magic or op. B = 16, 32 or 256 (-GB=9'd32, -GB=9'd256;
// at 256 the chunk ports are 9 bits, a record is one 128-byte beat and chunk bit 8 is in word 24,
// bits 25 and 26, as in the real top; CONFIG's 8-bit B field reads 0). Record word 25
// (reserved in the real format) injects protocol faults for the self-test.
module AcceleratorTop #(parameter [8:0] B = 9'd16, parameter integer CW = (B == 9'd256) ? 9 : 8) (
    input clk,
    input rst,
    input s_axil_awvalid,
    output s_axil_awready,
    input [11:0] s_axil_awaddr,
    input s_axil_wvalid,
    output s_axil_wready,
    input [31:0] s_axil_wdata,
    input [3:0] s_axil_wstrb,
    output s_axil_bvalid,
    input s_axil_bready,
    output [1:0] s_axil_bresp,
    input s_axil_arvalid,
    output s_axil_arready,
    input [11:0] s_axil_araddr,
    output s_axil_rvalid,
    input s_axil_rready,
    output [31:0] s_axil_rdata,
    output [1:0] s_axil_rresp,
    output irq,
    output m_rd_cmd_valid,
    input m_rd_cmd_ready,
    output [31:0] m_rd_cmd_address,
    output [CW-1:0] m_rd_cmd_chunk,
    output [15:0] m_rd_cmd_count1,
    output [31:0] m_rd_cmd_stride1,
    output [15:0] m_rd_cmd_count2,
    output [31:0] m_rd_cmd_stride2,
    input s_axis_tvalid,
    output s_axis_tready,
    input [8*B-1:0] s_axis_tdata,
    input s_axis_tlast,
    output m_wt_cmd_valid,
    input m_wt_cmd_ready,
    output [31:0] m_wt_cmd_address,
    output [CW-1:0] m_wt_cmd_chunk,
    output [15:0] m_wt_cmd_count1,
    output [31:0] m_wt_cmd_stride1,
    output [15:0] m_wt_cmd_count2,
    output [31:0] m_wt_cmd_stride2,
    input s_axis_wt_tvalid,
    output s_axis_wt_tready,
    input [8*B-1:0] s_axis_wt_tdata,
    input s_axis_wt_tlast,
    output m_wr_cmd_valid,
    input m_wr_cmd_ready,
    output [31:0] m_wr_cmd_address,
    output [CW-1:0] m_wr_cmd_chunk,
    output [15:0] m_wr_cmd_count1,
    output [31:0] m_wr_cmd_stride1,
    output [15:0] m_wr_cmd_count2,
    output [31:0] m_wr_cmd_stride2,
    output m_axis_tvalid,
    input m_axis_tready,
    output [8*B-1:0] m_axis_tdata,
    output [B-1:0] m_axis_tkeep,
    output m_axis_tlast,
    output trace_record_done,
    output [15:0] trace_layer
);
    localparam [2:0] IDLE = 3'd0, FETCH_CMD = 3'd1, FETCH = 3'd2, DECODE = 3'd3, RUN = 3'd4;
    // A record is 128 bytes: 128 / B beats, or one beat of 128 bytes where a beat is wider.
    localparam [8:0] RECORD_BYTES = (B >= 9'd128) ? 9'd128 : B;
    localparam [7:0] RECORD_BEATS = 8'd128 / RECORD_BYTES[7:0];

    reg [2:0] state;
    reg busy, done, error, irq_enable;
    reg [31:0] record_base, record_count, record_index, error_record;
    reg [63:0] cycles;
    reg [31:0] stall_input, stall_output, engine_beats;
    // Per-layer cycles (the real top's LAYERS_DONE ... LAYER_DONE_CYCLES; its per-layer stall and beat
    // registers read 0 here). record_cycles counts from the cycle after the previous pass ended to this
    // pass's end, layer_acc sums the finished records of the layer running, prev_layer is the last
    // finished record's layer. The stand-in fetches one record at a time, so a layer's figures are
    // latched when the next layer's record is decoded (or the run's last pass ends), later than in the
    // real top, but with the same values.
    reg [31:0] record_cycles, layer_acc, layers_done, layer_done_cycles;
    reg [15:0] prev_layer, layer_done_index;
    reg layer_fault;
    reg [1023:0] record;
    reg [7:0] fetched;
    reg [31:0] in_left, out_left;
    reg rd_pending, wr_pending, record_done;

    // Record fields (docs/control.md, "Control record").
    wire [3:0] op = record[3:0];
    wire residual = record[9];
    wire [7:0] magic = record[31:24];
    wire [15:0] layer = record[47:32];
    wire [15:0] region_rows = record[79:64];
    wire [15:0] region_cols = record[95:80];
    wire [15:0] row0 = record[111:96];
    wire [15:0] col0 = record[127:112];
    wire [15:0] image_rows = record[143:128];
    wire [15:0] image_cols = record[159:144];
    wire [31:0] input_address = record[191:160];
    wire [31:0] input_pixel_stride = record[223:192];
    wire [31:0] input_row_stride = record[255:224];
    // Chunks of 256 bytes carry bit 8 in word 24 (bits 25 and 26), read only at B = 256.
    wire [8:0] in_chunk = {B == 9'd256 && record[793], record[263:256]};
    wire [7:0] fill_value = record[271:264];
    wire [8:0] out_chunk = {B == 9'd256 && record[794], record[279:272]};
    wire [31:0] output_address = record[415:384];
    wire [31:0] output_pixel_stride = record[447:416];
    wire [31:0] output_row_stride = record[479:448];
    wire [15:0] output_rows = record[495:480];
    wire [15:0] output_cols = record[511:496];
    // Reserved word 25 selects a deliberate protocol fault, so the self-test can see the harness catch
    // it: 1 tlast one beat early, 2 one tkeep bit too many, 3 the pixel read command's valid toggles
    // while it waits, 4 the write command points far outside memory, 5 LAYER_DONE_CYCLES reads one
    // too many for the rest of the run.
    wire [7:0] fault = record[807:800];
    reg toggle;

    wire [31:0] region_positions = region_rows * region_cols;
    wire [31:0] output_positions = output_rows * output_cols;
    wire [16:0] row_end = {1'b0, row0} + {1'b0, region_rows};
    wire [16:0] col_end = {1'b0, col0} + {1'b0, region_cols};
    wire [8:0] beat_bytes = B;
    wire supported = magic == 8'hC5 && op == 4'd2 && !residual && !row0[15] && !col0[15]
        && row_end <= {1'b0, image_rows} && col_end <= {1'b0, image_cols} && region_positions != 32'd0
        && region_positions == output_positions && in_chunk != 9'd0 && in_chunk <= beat_bytes
        && out_chunk != 9'd0 && out_chunk <= beat_bytes;

    // The stream FIFO between s_axis and m_axis.
    reg [8*B-1:0] fifo0, fifo1, fifo2, fifo3;
    reg [1:0] head, tail;
    reg [2:0] count;
    wire take = state == RUN && in_left != 32'd0 && count != 3'd4;
    wire fetch_take = state == FETCH;
    assign s_axis_tready = take || fetch_take;
    wire beat_in = s_axis_tvalid && s_axis_tready;
    assign m_axis_tvalid = state == RUN && count != 3'd0;
    wire beat_out = m_axis_tvalid && m_axis_tready;
    assign m_axis_tdata = head == 2'd0 ? fifo0 : head == 2'd1 ? fifo1 : head == 2'd2 ? fifo2 : fifo3;
    genvar b;
    wire [8*B-1:0] masked;
    wire [1023:0] record_next;
    wire [8:0] record_chunk = RECORD_BYTES;
    wire [8:0] rd_chunk = state == FETCH_CMD ? record_chunk : in_chunk;
    generate
        for (b = 0; b < B; b = b + 1) begin : lane
            assign masked[8*b+7:8*b] = b < in_chunk ? s_axis_tdata[8*b+7:8*b] : fill_value;
            assign m_axis_tkeep[b] = b < out_chunk + (fault == 8'd2 ? 9'd1 : 9'd0);
        end
        if (B >= 9'd128) begin : whole_record
            assign record_next = s_axis_tdata[1023:0];
        end else begin : record_beats
            assign record_next = {s_axis_tdata, record[1023:8*B]};
        end
    endgenerate
    assign m_axis_tlast = out_left == (fault == 8'd1 ? 32'd2 : 32'd1);

    assign m_rd_cmd_valid = state == FETCH_CMD || (state == RUN && rd_pending && !(fault == 8'd3 && toggle));
    assign m_rd_cmd_address = state == FETCH_CMD ? record_base + {record_index[24:0], 7'd0}
        : input_address + row0 * input_row_stride + col0 * input_pixel_stride;
    assign m_rd_cmd_chunk = rd_chunk[CW-1:0];
    assign m_rd_cmd_count1 = state == FETCH_CMD ? {8'd0, RECORD_BEATS} : region_cols;
    assign m_rd_cmd_stride1 = state == FETCH_CMD ? {23'd0, record_chunk} : input_pixel_stride;
    assign m_rd_cmd_count2 = state == FETCH_CMD ? 16'd1 : region_rows;
    assign m_rd_cmd_stride2 = state == FETCH_CMD ? 32'd0 : input_row_stride;
    assign m_wr_cmd_valid = state == RUN && wr_pending;
    assign m_wr_cmd_address = fault == 8'd4 ? output_address + 32'h4000_0000 : output_address;
    assign m_wr_cmd_chunk = out_chunk[CW-1:0];
    assign m_wr_cmd_count1 = output_cols;
    assign m_wr_cmd_stride1 = output_pixel_stride;
    assign m_wr_cmd_count2 = output_rows;
    assign m_wr_cmd_stride2 = output_row_stride;
    assign trace_record_done = record_done;
    assign trace_layer = layer;
    assign irq = done && irq_enable;

    // AXI4-Lite: address and data are taken together; one outstanding response per channel.
    reg bvalid, rvalid;
    reg [31:0] rdata;
    wire write = s_axil_awvalid && s_axil_wvalid && !bvalid;
    assign s_axil_awready = write;
    assign s_axil_wready = write;
    assign s_axil_bvalid = bvalid;
    assign s_axil_bresp = 2'd0;
    assign s_axil_arready = !rvalid;
    assign s_axil_rvalid = rvalid;
    assign s_axil_rdata = rdata;
    assign s_axil_rresp = 2'd0;
    wire start = write && s_axil_awaddr == 12'h008 && s_axil_wdata[0] && !busy;
    wire pass_over = state == RUN && in_left == 32'd0 && out_left == 32'd0 && !rd_pending && !wr_pending;
    // Copy passes read no weights: the weight stream stays idle.
    assign m_wt_cmd_valid = 1'b0;
    assign m_wt_cmd_address = 32'd0;
    assign m_wt_cmd_chunk = {CW{1'b0}};
    assign m_wt_cmd_count1 = 16'd0;
    assign m_wt_cmd_stride1 = 32'd0;
    assign m_wt_cmd_count2 = 16'd0;
    assign m_wt_cmd_stride2 = 32'd0;
    assign s_axis_wt_tready = 1'b0;
    wire unused_wt = &{1'b0, m_wt_cmd_ready, s_axis_wt_tvalid, s_axis_wt_tdata, s_axis_wt_tlast};
    wire unused_ok = &{1'b0, s_axil_wstrb, record[1023:808], record[799:512], record[383:280], record[63:48], record[23:10], record[8:4],
                       rd_chunk, out_chunk, beat_bytes};

    always @(posedge clk) begin
        if (rst) begin
            state <= IDLE;
            busy <= 1'b0; done <= 1'b0; error <= 1'b0; irq_enable <= 1'b0;
            record_base <= 32'd0; record_count <= 32'd0; record_index <= 32'd0; error_record <= 32'd0;
            cycles <= 64'd0; stall_input <= 32'd0; stall_output <= 32'd0; engine_beats <= 32'd0;
            record_cycles <= 32'd0; layer_acc <= 32'd0; layers_done <= 32'd0; layer_done_cycles <= 32'd0;
            prev_layer <= 16'd0; layer_done_index <= 16'd0; layer_fault <= 1'b0;
            record <= 1024'd0; fetched <= 8'd0; in_left <= 32'd0; out_left <= 32'd0;
            rd_pending <= 1'b0; wr_pending <= 1'b0; record_done <= 1'b0; toggle <= 1'b0;
            head <= 2'd0; tail <= 2'd0; count <= 3'd0;
            bvalid <= 1'b0; rvalid <= 1'b0; rdata <= 32'd0;
            fifo0 <= 0; fifo1 <= 0; fifo2 <= 0; fifo3 <= 0;
        end else begin
            record_done <= 1'b0;
            toggle <= !toggle;
            if (write) begin
                bvalid <= 1'b1;
                case (s_axil_awaddr)
                    12'h008: irq_enable <= s_axil_wdata[1];
                    12'h010: if (s_axil_wdata[1]) done <= 1'b0;
                    12'h014: record_base <= s_axil_wdata;
                    12'h018: record_count <= s_axil_wdata;
                    default: ;
                endcase
            end else if (bvalid && s_axil_bready) bvalid <= 1'b0;
            if (s_axil_arvalid && !rvalid) begin
                rvalid <= 1'b1;
                case (s_axil_araddr)
                    12'h000: rdata <= 32'hD5C10001;
                    12'h004: rdata <= {beat_bytes[7:0], 8'd2, 8'd4, 8'd4};
                    12'h008: rdata <= {30'd0, irq_enable, 1'b0};
                    12'h00C: rdata <= {29'd0, error, done, busy};
                    12'h014: rdata <= record_base;
                    12'h018: rdata <= record_count;
                    12'h01C: rdata <= record_index;
                    12'h020: rdata <= cycles[31:0];
                    12'h024: rdata <= cycles[63:32];
                    12'h028: rdata <= stall_input;
                    12'h02C: rdata <= stall_output;
                    12'h030: rdata <= engine_beats;
                    12'h038: rdata <= {16'd0, layer};
                    12'h03C: rdata <= error_record;
                    12'h040: rdata <= layers_done;
                    12'h044: rdata <= {16'd0, layer_done_index};
                    12'h048: rdata <= layer_done_cycles + {31'd0, layer_fault};
                    default: rdata <= 32'd0;
                endcase
            end else if (rvalid && s_axil_rready) rvalid <= 1'b0;

            if (busy) cycles <= cycles + 64'd1;
            if (busy) record_cycles <= record_cycles + 32'd1;
            if (s_axis_tready && !s_axis_tvalid) stall_input <= stall_input + 32'd1;
            if (m_axis_tvalid && !m_axis_tready) stall_output <= stall_output + 32'd1;
            if (beat_in && state == RUN) engine_beats <= engine_beats + 32'd1;

            if (beat_in && state == RUN) begin
                case (tail)
                    2'd0: fifo0 <= masked;
                    2'd1: fifo1 <= masked;
                    2'd2: fifo2 <= masked;
                    default: fifo3 <= masked;
                endcase
                tail <= tail + 2'd1;
                in_left <= in_left - 32'd1;
            end
            if (beat_out) begin
                head <= head + 2'd1;
                out_left <= out_left - 32'd1;
            end
            count <= count + {2'd0, beat_in && state == RUN} - {2'd0, beat_out};

            if (start) begin
                busy <= 1'b1; done <= 1'b0; error <= 1'b0;
                record_index <= 32'd0;
                cycles <= 64'd0; stall_input <= 32'd0; stall_output <= 32'd0; engine_beats <= 32'd0;
                record_cycles <= 32'd0; layer_acc <= 32'd0; layers_done <= 32'd0; layer_done_cycles <= 32'd0;
                layer_done_index <= 16'd0; layer_fault <= 1'b0;
                state <= record_count == 32'd0 ? IDLE : FETCH_CMD;
                if (record_count == 32'd0) begin busy <= 1'b0; done <= 1'b1; end
            end else case (state)
                FETCH_CMD: if (m_rd_cmd_ready) begin state <= FETCH; fetched <= 8'd0; end
                FETCH: if (beat_in) begin
                    record <= record_next;
                    fetched <= fetched + 8'd1;
                    if (s_axis_tlast != (fetched == RECORD_BEATS - 8'd1)) begin
                        state <= IDLE; busy <= 1'b0; done <= 1'b1; error <= 1'b1; error_record <= record_index;
                    end else if (s_axis_tlast) state <= DECODE;
                end
                DECODE: if (supported) begin
                    if (record_index != 32'd0 && layer != prev_layer) begin
                        layers_done <= layers_done + 32'd1;
                        layer_done_index <= prev_layer;
                        layer_done_cycles <= layer_acc;
                        layer_acc <= 32'd0;
                    end
                    if (fault == 8'd5) layer_fault <= 1'b1;
                    state <= RUN;
                    rd_pending <= 1'b1; wr_pending <= 1'b1;
                    in_left <= region_positions; out_left <= output_positions;
                end else begin
                    state <= IDLE; busy <= 1'b0; done <= 1'b1; error <= 1'b1; error_record <= record_index;
                end
                RUN: begin
                    if (m_rd_cmd_valid && m_rd_cmd_ready) rd_pending <= 1'b0;
                    if (m_wr_cmd_valid && m_wr_cmd_ready) wr_pending <= 1'b0;
                    if (beat_in && s_axis_tlast != (in_left == 32'd1)) begin
                        state <= IDLE; busy <= 1'b0; done <= 1'b1; error <= 1'b1; error_record <= record_index;
                    end else if (pass_over) begin
                        record_done <= 1'b1;
                        record_cycles <= 32'd0;
                        layer_acc <= layer_acc + record_cycles + 32'd1;
                        prev_layer <= layer;
                        if (record_index + 32'd1 == record_count) begin
                            layers_done <= layers_done + 32'd1;
                            layer_done_index <= layer;
                            layer_done_cycles <= layer_acc + record_cycles + 32'd1;
                        end
                        record_index <= record_index + 32'd1;
                        if (record_index + 32'd1 == record_count) begin
                            state <= IDLE; busy <= 1'b0; done <= 1'b1;
                        end else state <= FETCH_CMD;
                    end
                end
                default: ;
            endcase
        end
    end
endmodule
